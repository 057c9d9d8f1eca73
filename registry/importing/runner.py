"""The one import driver, which every kind of file runs through.

:class:`Import` reads and checks every row of the file first; then, in one transaction and
after any other import (or revert) has ended, it matches the rows with the registry, and
writes only if nothing is wrong (or the good rows are asked for), not on a dry run, and only
if there is something new: the :class:`ImportRun` first, then what the kind of file creates,
then the first version in the history of every record created.
A subclass for each kind of file gives what differs: its columns, its row parser, its plan
and its writer.
"""

import functools
import gc
import hashlib
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import IntegrityError, OperationalError, connection, transaction

from registry.caching import data_changed
from registry.countries import CountryResolver
from registry.importing.reading import CONTROL_BYTES
from registry.importing.rows import parse_rows
from registry.importing.writing import highest_keys, write_first_versions
from registry.models import ImportRun


class ImportConflict(Exception):
    """Another writer held the database, or wrote the same records, at the same moment:
    nothing was written, and the import can simply be run again."""


@contextmanager
def import_transaction(*, lock, waiting=None):
    """The one transaction of an import, which reads the registry only inside it.

    With ``lock`` (an import that may write), it first waits for any other import, or a
    revert of one, to end (``waiting()`` is called if it has to; see
    :meth:`ImportRun.take_import_lock`): everything read after that, the towns matched and
    the pairs found, includes what the other one committed, so two imports do not create
    the same towns twice. On SQLite the write lock is taken at once, before the first read,
    for the same reason. A database that stays busy beyond its timeout (SQLite's "database
    is locked"), or a unique record written meanwhile by someone who does not take the lock
    (a save in the admin), is an :class:`ImportConflict`: the transaction is rolled back and
    nothing is written.
    """
    try:
        with transaction.atomic():
            if lock:
                ImportRun.take_import_lock(waiting)
            yield
    except OperationalError as error:
        if "database is locked" not in str(error):
            raise
        raise ImportConflict(
            "the database is busy with another write (another import?) and stayed so "
            "too long; nothing was imported. Run the import again when it is done."
        ) from None
    except (IntegrityError, connection.Database.IntegrityError) as error:
        # (A COPY's errors come from psycopg as they are, without Django's wrapper.)
        cause = error if hasattr(error, "sqlstate") else error.__cause__
        if getattr(cause, "sqlstate", None) != "23505":  # PostgreSQL's unique_violation
            raise
        constraint = getattr(getattr(cause, "diag", None), "constraint_name", None) or "unique"
        raise ImportConflict(
            f"someone else wrote the same records at the same moment ({constraint}); "
            "nothing was imported. Run the import again: it will match what they wrote."
        ) from None


@dataclass
class Report:
    """What an import read, found and wrote (or, on a dry run or with bad rows, would write).

    The counts are those of a partnership list; the other kinds of file add theirs and say
    their own in :meth:`summary`. ``run`` is the :class:`ImportRun` written, None if nothing
    was.
    """

    rows_read: int = 0
    rows_rejected: int = 0
    municipalities_created: int = 0
    municipalities_matched: int = 0
    municipalities_geocoded: int | None = None  # None: not asked to geocode
    partnerships_created: int = 0
    duplicates_merged: int = 0
    already_present: int = 0
    errors: list = field(default_factory=list)
    written: bool = False
    run: ImportRun | None = None

    def summary(self):
        """The report's lines for a person: {label: count}."""
        summary = {
            "rows read": self.rows_read,
            "rows rejected": self.rows_rejected,
            "municipalities created": self.municipalities_created,
            "municipalities matched": self.municipalities_matched,
            "municipalities geocoded": self.municipalities_geocoded,
            "partnerships created": self.partnerships_created,
            "duplicates merged": self.duplicates_merged,
            "already in the registry": self.already_present,
        }
        return {label: value for label, value in summary.items() if value is not None}


def _without_cyclic_gc(function):
    """Run ``function`` with Python's cyclic garbage collector paused.

    An import builds a few hundred thousand small objects that all live until it ends; the
    collector would walk all of them again and again as they are made, for nothing.
    """

    @functools.wraps(function)
    def paused(*args, **kwargs):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return paused


class Import:
    """One import of one file: ``Import(data, file_name=...).run()`` returns the Report.

    ``data`` is the file's bytes. With ``skip_invalid``, the good rows are written and the bad
    ones reported; with ``dry_run``, nothing is written and the report says what would
    happen. ``progress(lines done, lines)`` is called now and then while the rows are
    checked; ``waiting()`` if the import has to wait for another to end. An import that
    would create nothing writes nothing, not even its run (``report.run`` stays None).
    :meth:`run` raises :class:`ImportFileError` for a file it cannot read and
    :class:`ImportConflict` if another writer got in the way: nothing is written then.

    A subclass for each kind of file sets ``required`` and ``columns`` (the file's columns),
    ``report_class`` and ``parser_class`` (a :class:`RowParser`), and gives :meth:`plan`,
    :meth:`creates`, :meth:`run_counts` and :meth:`write`.
    """

    required = ()
    columns = ()
    report_class = Report
    parser_class = None

    def __init__(
        self,
        data,
        *,
        file_name,
        skip_invalid=False,
        dry_run=False,
        user=None,
        progress=None,
        waiting=None,
    ):
        self.data = data
        self.file_name = file_name
        self.skip_invalid = skip_invalid
        self.dry_run = dry_run
        self.user = user
        self.progress = progress
        self.waiting = waiting

    def check_header(self):
        """Raise :class:`ImportFileError` for a file this kind cannot read beyond what every
        file needs (its required columns); nothing by default."""

    def plan(self, rows, report):
        """What the checked ``rows`` ask for, after matching them with the registry (this
        runs in the import's transaction): the plan :meth:`write` writes. Puts each row's
        problem in ``report.errors`` and sets the report's counts of what would be created."""
        raise NotImplementedError

    def creates(self, plan):
        """Whether the plan creates anything (if not, nothing is written, no run either)."""
        raise NotImplementedError

    def run_counts(self, report):
        """The counts of the :class:`ImportRun` this kind of file sets: {field: count}."""
        raise NotImplementedError

    def write(self, plan, run):
        """Write what ``plan`` creates, each row carrying ``run``."""
        raise NotImplementedError

    @_without_cyclic_gc
    def run(self):
        """Check, plan and (if all is well) write the import; return its Report."""
        data = self.data
        self.check_header()
        report = self.report_class()
        parser = self.parser_class(
            CountryResolver(), check_controls=bool(CONTROL_BYTES.search(data))
        )
        rows = parse_rows(data, parser, report, self.required, self.columns, self.progress)
        with import_transaction(lock=not self.dry_run, waiting=self.waiting):
            plan = self.plan(rows, report)
            del rows
            report.rows_rejected = len({error.line for error in report.errors})
            report.errors.sort(key=lambda error: error.line)
            if self.dry_run or (report.errors and not self.skip_invalid):
                return report
            if not self.creates(plan):
                return report  # nothing new: no run either
            run = ImportRun.objects.create(
                user=self.user,
                file_name=self.file_name[:500],
                sha256=hashlib.sha256(data).hexdigest(),
                rows_read=report.rows_read,
                rows_rejected=report.rows_rejected,
                duplicates_merged=report.duplicates_merged,
                already_present=report.already_present,
                **self.run_counts(report),
            )
            before = highest_keys()
            self.write(plan, run)
            write_first_versions(run, before)
            data_changed()
        report.run, report.written = run, True
        return report
