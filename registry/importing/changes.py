"""Dated changes of a partnership's kind or status: ``import_changes``.

Required ``date`` and, in each row, exactly one of ``kind`` and ``status`` (spelled as
``import_partnerships`` reads them; a network's kind does not change); the partnership by
its slug in ``partnership`` or by its two towns, as ``import_events`` finds it
(:class:`registry.importing.matching.Subjects`). A change the registry has (same
partnership, value and date) is not created again; one listed twice is one change. The
changes make the history a past ranking reads (``Municipality.objects.ranked_on``); today's
kind, status and partner counts stay as they are.
"""

from dataclasses import dataclass

from registry.dates import PartialDate
from registry.importing.events import EventParser
from registry.importing.matching import Subjects
from registry.importing.reading import ImportFileError, Records, RowError
from registry.importing.rows import KIND_SPELLINGS, STATUS_SPELLINGS, Side
from registry.importing.runner import Import, Report
from registry.importing.writing import analyze, insert, reserve_ids, write_sources
from registry.models import KindChange, Partnership, StatusChange

CHANGE_REQUIRED = ["date"]
CHANGE_COLUMNS = [
    *CHANGE_REQUIRED,
    "kind",
    "status",
    "partnership",
    "municipality_a",
    "country_a",
    "region_a",
    "municipality_b",
    "country_b",
    "region_b",
    "partnership_kind",
    "source",
]


@dataclass(slots=True)
class ChangeRow:
    """A checked row of a list of dated changes: the field (kind or status), its new value."""

    line: int
    field: str  # "kind" or "status"
    value: str
    date: PartialDate
    source: str
    slug: str
    a: Side | None
    b: Side | None
    partnership_kind: str
    subject: tuple = ()  # ("partnership", pk), once found


@dataclass
class ChangeReport(Report):
    """The :class:`Report` of a list of dated changes."""

    kind_changes_created: int = 0
    status_changes_created: int = 0

    def summary(self):
        return {
            "rows read": self.rows_read,
            "rows rejected": self.rows_rejected,
            "changes of kind created": self.kind_changes_created,
            "changes of status created": self.status_changes_created,
            "duplicates merged": self.duplicates_merged,
            "already in the registry": self.already_present,
        }


class ChangeParser(EventParser):
    """Checks the rows of a list of dated changes: each is a :class:`ChangeRow`; the towns
    are read as :class:`EventParser` reads them."""

    def check(self, line, record, error):
        """The valid ChangeRow; ``None`` after reporting a mistake through ``error``."""
        date = self.date(record, "date", error)
        if not record.get("date", "").strip():
            error("date", "is empty")
        given = [name for name in ("kind", "status") if record.get(name, "").strip()]
        value = None
        if len(given) == 2:
            error("status", "give the kind or the status, not both: one change per row")
        elif not given:
            error("kind", "give the kind or the status it changed to")
        elif given == ["kind"]:
            value = self.choice(record, "kind", KIND_SPELLINGS, None, error)
        else:
            value = self.choice(record, "status", STATUS_SPELLINGS, None, error)
        source = self.text(record, "source", 500, error)
        slug, partnership_kind, names = self.subject(record, error)
        a = b = None
        if slug:
            pass  # the slug names it; names beside it are refused by subject()
        elif not any(names):
            error("partnership", "give the partnership's slug or its two municipalities")
        elif not (names[1] or names[3]):
            error("municipality_b", "give the partnership's other municipality, or its slug")
        else:
            a = self.town(record, "a", error)
            b = self.town(record, "b", error)
            if a and b and a.key == b.key:
                error("municipality_b", f"{b.name!r} is the same town as {a.name!r}")
        if error:
            return None
        return ChangeRow(line, given[0], value, date, source, slug, a, b, partnership_kind)


class ChangeImport(Import):
    """:class:`Import` of a list of dated changes."""

    required = CHANGE_REQUIRED
    columns = CHANGE_COLUMNS
    report_class = ChangeReport
    parser_class = ChangeParser

    def check_header(self):
        header = Records(self.data, CHANGE_REQUIRED, CHANGE_COLUMNS).header
        if "kind" not in header and "status" not in header:
            raise ImportFileError("line 1: missing required column(s): kind or status.")

    def plan(self, rows, report):
        """The new changes, by (field, partnership, value, date)."""
        new = _new_changes(rows, report)
        kinds = sum(1 for row in new.values() if row.field == "kind")
        report.kind_changes_created, report.status_changes_created = kinds, len(new) - kinds
        return new

    def creates(self, plan):
        return bool(plan)

    def run_counts(self, report):
        return {"changes_created": report.kind_changes_created + report.status_changes_created}

    def write(self, plan, run):
        kinds = [row for row in plan.values() if row.field == "kind"]
        statuses = [row for row in plan.values() if row.field == "status"]
        sources = write_sources(row.source for row in plan.values())
        for model, field, rows in (
            (KindChange, "kind", kinds),
            (StatusChange, "status", statuses),
        ):
            ids = reserve_ids(model, len(rows))
            insert(
                model,
                ["id", "partnership", field, "date", "import_run"],
                [
                    (pk, row.subject[1], row.value, row.date, run.pk)
                    for pk, row in zip(ids, rows, strict=True)
                ],
            )
            insert(
                model.sources.through,
                [model._meta.model_name, "source"],
                [
                    (pk, sources[row.source])
                    for pk, row in zip(ids, rows, strict=True)
                    if row.source
                ],
                written={model: ids},
            )
        analyze(KindChange, StatusChange, needed=False)


def import_changes(data, **options):
    """Import the list of dated changes of kind and status ``data`` (the CSV file's bytes)
    into the partnerships the registry has; return its Report.

    The options, and when it writes, are those of :class:`registry.importing.runner.Import`.
    """
    return ChangeImport(data, **options).run()


def _new_changes(rows, report):
    """The changes of ``rows`` the registry does not have, merged, by (field, partnership,
    value, date); what is wrong with the others goes to ``report``."""
    finder = Subjects(rows)
    networks = set()
    if finder.slugs:
        networks = set(Partnership.objects.networks().values_list("pk", flat=True))
    found = []
    for row in rows:
        subject, problem = finder.find(row)
        if not problem and row.field == "kind" and subject[1] in networks:
            problem = ("kind", f"{row.slug!r} is a network: its kind does not change")
        if problem:
            report.errors.append(RowError(row.line, *problem))
        else:
            row.subject = subject
            found.append(row)
    subjects = {row.subject[1] for row in found}
    present = set()
    for field, model in (("kind", KindChange), ("status", StatusChange)):
        if any(row.field == field for row in found):
            for partnership, value, date in (
                model.objects.order_by()
                .values_list("partnership_id", field, "date")
                .iterator(chunk_size=10_000)
            ):
                if partnership in subjects:
                    present.add((field, partnership, value, date))
    new = {}
    for row in found:
        key = (row.field, row.subject[1], row.value, row.date)
        if key in present:
            report.already_present += 1
        elif key in new:
            report.duplicates_merged += 1
            new[key].source = new[key].source or row.source
        else:
            new[key] = row
    return new
