"""Import large real-world lists of partnerships from CSV: parse, validate, match, bulk write.

The file is UTF-8 with a header row. Required columns: ``municipality_a``, ``country_a``,
``municipality_b``, ``country_b``; optional: ``kind``, ``start``, ``end``, ``status``,
``region_a``, ``region_b``, ``lat_a``, ``lon_a``, ``lat_b``, ``lon_b``, ``source``. Unknown
columns are ignored.

Every row is validated before anything is written, and the write is one transaction: the new
rows go in with one ``COPY`` per table on PostgreSQL and ``executemany`` (one per 10,000 rows)
on SQLite, with primary keys reserved beforehand (no model instances, no per-row signals); the
partner counts of the new towns are counted while planning, and only the existing towns that
gain a partnership in force are recounted, in one ``UPDATE``. Like the bulk inserts before, an
import writes no history rows: its :class:`ImportRun` is the record of what it created, and
reverting the run deletes it; an import that creates nothing records no run.

Imports run one after the other: each reads the registry (the towns it matches, the pairs it
has already) only inside its transaction, after any other import has committed (an advisory
lock on PostgreSQL, the write lock on SQLite), so two at once do not create the same towns.
"""

import codecs
import csv
import functools
import gc
import hashlib
import io
import itertools
import operator
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from registry import counting
from registry.caching import data_changed
from registry.countries import CountryResolver
from registry.dates import YEARS_AHEAD, PartialDate, ends_before
from registry.geocoding import Geocoder
from registry.models import Event, ImportRun, Municipality, Partnership, Region, Source
from registry.signals import PARTNER_COUNT_LOCK
from registry.text import fold

REQUIRED = ["municipality_a", "country_a", "municipality_b", "country_b"]
OPTIONAL = [
    "kind",
    "start",
    "end",
    "status",
    "region_a",
    "region_b",
    "lat_a",
    "lon_a",
    "lat_b",
    "lon_b",
    "source",
]
COLUMNS = REQUIRED + OPTIONAL

Kind = Partnership.Kind
Status = Partnership.Status

KIND_SPELLINGS = {
    **{fold(kind.value): kind for kind in Kind if kind != Kind.NETWORK},
    **{fold(str(kind.label)): kind for kind in Kind if kind != Kind.NETWORK},
    "twinning": Kind.OFFICIAL,
    "twin town": Kind.OFFICIAL,
    "twin city": Kind.OFFICIAL,
    "sister city": Kind.OFFICIAL,
    "partner city": Kind.OFFICIAL,
    "jumelage": Kind.OFFICIAL,
    "stadtepartnerschaft": Kind.OFFICIAL,
    "partnerschaft": Kind.OFFICIAL,
    "freundschaft": Kind.FRIENDSHIP,
    "friendship city": Kind.FRIENDSHIP,
    "informal": Kind.CONTACT,
    "sponsorship": Kind.ADOPTION,
    "patenschaft": Kind.ADOPTION,
    "project-limited": Kind.PROJECT,
}
STATUS_SPELLINGS = {
    **{fold(status.value): status for status in Status},
    "inactive": Status.DORMANT,
    "ruht": Status.DORMANT,
    "ausgesetzt": Status.SUSPENDED,
    "beendet": Status.ENDED,
    "aktiv": Status.ACTIVE,
}

BATCH = 2000
CHUNK = 10_000  # rows per executemany on SQLite
MAX_NAME = 200
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The same characters in the UTF-8 bytes of a file: they are never part of a longer sequence,
# so a file without them needs no check of each value.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _fold(text):
    """:func:`registry.text.fold`, quicker for the plain ASCII most names are written in.

    For ASCII text folding is lower-casing and single spaces: no accents, no special letters,
    no format characters (a test checks both give the same key).
    """
    if text.isascii():
        return " ".join(text.lower().split())
    return fold(text)


class ImportFileError(Exception):
    """The file as a whole cannot be read: encoding, quoting, missing columns."""


class ImportConflict(Exception):
    """Another writer held the database, or wrote the same records, at the same moment:
    nothing was written, and the import can simply be run again."""


@contextmanager
def _import_transaction(*, lock, waiting=None):
    """The one transaction of an import, which reads the registry only inside it.

    With ``lock`` (an import that may write), it first waits for any other import, or a
    revert of one, to end (``waiting()`` is called if it has to; see
    :meth:`ImportRun.take_import_lock`): everything read after that, the towns matched and
    the pairs found, includes what the other one committed, so two imports do not create
    the same towns twice. On SQLite the write lock is taken at once, before the
    first read, for the same reason. A database that stays busy beyond its timeout
    (SQLite's "database is locked"), or a unique record written meanwhile by someone who
    does not take the lock (a save in the admin), is an :class:`ImportConflict`: the
    transaction is rolled back and nothing is written.
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


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str

    def __str__(self):
        where = f"line {self.line}"
        return (
            f"{where}, {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


@dataclass(slots=True)
class Side:
    """One side of a row. ``country`` is as the row gives it, perhaps a former state; the
    town is looked for there and in its successor states, and a new town goes to ``home``:
    the one successor, or the former state itself where it split (Czechoslovakia)."""

    name: str
    folded: str
    country: object
    home: object
    search_in: tuple
    region: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    population: int | None = None
    geonames_id: int | None = None
    kind: str = ""  # a municipality's kind (import_municipalities); "" is a city or town
    wikidata_id: str = ""
    source: str = ""
    line: int = 0
    pk: int | None = None  # a new town's, once written
    slug: str = ""

    @property
    def key(self):
        return (self.home.id, self.folded)

    @property
    def country_then(self):
        return self.country if self.country.historical else None


@dataclass(slots=True)
class Row:
    line: int
    a: Side
    b: Side
    kind: str
    status: str
    start: PartialDate | None
    end: PartialDate | None
    source: str
    refs: tuple = ()  # the two towns, once matched: ("pk", id) or ("new", side key)


@dataclass
class Report:
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


def read_records(data, required=REQUIRED, columns=COLUMNS):
    """Decode and parse the CSV bytes; yield (line number, record dict of ``columns``).

    Raises ImportFileError for what makes the whole file unreadable, naming the line and,
    where it can tell, the column.
    """
    records = _Records(data, required, columns)
    for line, values in records:
        yield line, records.record(values)


class _Records:
    """The records of a CSV file, read as a stream: (line number, values).

    ``values`` is the list of the record's values, as wide as the header (trailing empty fields
    left out are filled in), or a message where the record has more fields than the header.
    ``index`` gives each wanted column's position; :meth:`record` makes the dict
    :class:`RowParser` reads. Raises ImportFileError for what makes the whole file unreadable,
    naming the line and, where it can tell, the column.
    """

    def __init__(self, data, required, columns):
        self.data = data
        if _looks_utf16(data):
            raise ImportFileError("the file is UTF-16, not UTF-8; save it as UTF-8 and try again.")
        try:
            # The whole file is checked first (the decoded copy is dropped at once): a file
            # that is not UTF-8 is refused before any of its rows is read.
            data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            raise ImportFileError(
                str(
                    RowError(
                        line,
                        _undecodable_column(data),
                        f"the file is not UTF-8 (byte 0x{data[error.start]:02x}); "
                        "save it as UTF-8 and try again.",
                    )
                )
            ) from None
        # Lines split at \n, \r and \r\n only, ends kept, decoded as they are read.
        stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
        self.reader = csv.reader(stream, strict=True)
        self.header = []
        try:
            header = next(self.reader, None)
        except csv.Error as error:
            raise self._malformed(error, 0) from None
        if header is None:
            raise ImportFileError("the file is empty; it needs a header row.")
        header = self.header = [name.strip().lower() for name in header]
        for index, name in enumerate(header):
            if _CONTROL.search(name):
                raise ImportFileError(
                    f"line 1, column {index + 1}: the header contains a control character "
                    "(such as NUL), which CSV text does not; save the file as UTF-8 CSV and "
                    "try again."
                )
        missing = [name for name in required if name not in header]
        if missing:
            raise ImportFileError(f"line 1: missing required column(s): {', '.join(missing)}.")
        positions = {}
        for index, name in enumerate(header):
            if name:
                positions.setdefault(name, []).append(index)
        duplicated = [
            name if name.isprintable() else " and ".join(f"column {i + 1}" for i in at)
            for name, at in sorted(positions.items())
            if len(at) > 1
        ]
        if duplicated:
            raise ImportFileError(f"line 1: column(s) given twice: {', '.join(duplicated)}.")
        self.line = self.reader.line_num
        self.wanted = [(name, index) for index, name in enumerate(header) if name in columns]
        self.index = dict(self.wanted)
        self.width = len(header)

    def __iter__(self):
        reader, width, line = self.reader, self.width, self.line
        try:
            for values in reader:
                start_line, line = line + 1, reader.line_num
                joined = "".join(values)
                if not joined or joined.isspace():
                    continue
                if len(values) > width:
                    yield start_line, f"has {len(values)} fields where the header has {width}"
                    continue
                if len(values) < width:
                    values += [""] * (width - len(values))  # trailing empty fields left out
                yield start_line, values
        except csv.Error as error:
            raise self._malformed(error, line) from None

    def record(self, values):
        """The record dict of ``values`` (``{None: message}`` for a malformed record)."""
        if isinstance(values, str):
            return {None: values}
        return {name: values[index] for name, index in self.wanted}

    def _malformed(self, error, line):
        # Where the record that broke starts: csv itself names the line it gave up on,
        # the end of the file when a quote is never closed.
        lines = io.StringIO(self.data.decode("utf-8-sig"), newline="").readlines()[line:]
        column = _broken_field(lines)
        return ImportFileError(
            str(
                RowError(
                    line + 1,
                    _column_label(self.header, column) if column is not None else "",
                    f"the CSV is malformed ({error}); check its quotes.",
                )
            )
        )


def _pair(one, other):
    """Two things in a fixed order: the key of a pair, either way round."""
    return (one, other) if one <= other else (other, one)


def _column_label(header, index):
    """How a message names the column at ``index`` (from 0): by its name in the header where
    that shows as it is, else by its position ("column 3")."""
    name = header[index] if index < len(header) else ""
    return name if name and name.isprintable() else f"column {index + 1}"


def _looks_utf16(data):
    """Whether ``data`` is UTF-16 text: a byte order mark, or a NUL in every other byte (the
    high bytes of the Latin letters CSV headers and most names are written in)."""
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return True
    sample = data[:1000]
    half = len(sample) // 2
    return half >= 4 and max(sample[0::2].count(0), sample[1::2].count(0)) >= 0.9 * half


def _undecodable_column(data):
    """The column of the first bytes that are not UTF-8, named as :func:`_column_label`
    names it, by position where they are in the header itself ("" if none can tell)."""
    # Each byte that is not UTF-8 decodes to a surrogate of its own: the first of them is
    # the first such byte.
    text = data.decode("utf-8-sig", errors="surrogateescape")
    try:
        header = []
        for number, values in enumerate(csv.reader(io.StringIO(text, newline=""))):
            for index, value in enumerate(values):
                if any("\udc80" <= char <= "\udcff" for char in value):
                    return _column_label(header, index)
            if number == 0:
                header = [name.strip().lower() for name in values]
    except csv.Error:
        pass
    return ""


def _broken_field(lines):
    """Which field (from 0) of the CSV record starting at ``lines[0]`` breaks the quoting:
    a quoted field with text after its closing quote, or one that is never closed.

    The rules are those of ``csv.reader(strict=True)``; None if the record is well formed.
    """
    field, state = 0, "start"
    for char in itertools.chain.from_iterable(lines):
        if state == "quoted":
            if char == '"':
                state = "quote in quoted"
        elif state == "quote in quoted":
            if char == '"':  # a doubled quote stands for one
                state = "quoted"
            elif char == ",":
                field, state = field + 1, "start"
            elif char in "\r\n":
                return None
            else:
                return field
        elif char == ",":
            field, state = field + 1, "start"
        elif char in "\r\n":
            return None
        elif state == "start" and char == '"':
            state = "quoted"
        else:
            state = "unquoted"
    return field if state == "quoted" else None


class _Mistakes(list):
    """The RowErrors of one row, reported by calling it: ``error(column, message)``."""

    def __init__(self, line):
        super().__init__()
        self.line = line

    def __call__(self, name, message):
        self.append(RowError(self.line, name, message))


class RowParser:
    """Validates rows one by one, with the same messages for every row of a file.

    What many rows repeat (countries, kinds, statuses, dates, regions) is read once per
    distinct spelling and remembered.
    """

    def __init__(self, resolver, *, check_controls=True):
        self.resolver = resolver
        self.max_year = timezone.now().year + YEARS_AHEAD
        self.check_controls = check_controls
        self._places = {}
        self._dates = {}
        self._choices = {}

    def parse(self, line, record):
        """The valid row of ``record`` (what :meth:`check` makes of it), or the list of its
        RowErrors: every mistake of the row, control characters first."""
        error = _Mistakes(line)
        if self.controls_ok(record, error):
            row = self.check(line, record, error)
            if not error:
                return row
        return list(error)

    def check(self, line, record, error):
        """The valid Row; ``None`` after reporting a mistake through ``error``."""
        sides = [self._side(record, suffix, error) for suffix in ("a", "b")]
        kind = self.choice(record, "kind", KIND_SPELLINGS, Kind.OFFICIAL, error)
        status = self.choice(record, "status", STATUS_SPELLINGS, Status.ACTIVE, error)
        start = self.date(record, "start", error)
        end = self.date(record, "end", error)
        if start and end and ends_before(end, start):
            error("end", f"{end} is before the start {start}")
        source = self.text(record, "source", 500, error)
        a, b = sides
        if a and b and a.key == b.key:
            error("municipality_b", f"{b.name!r} would be partnered with itself")
        if error:
            return None
        return Row(line, a, b, kind, status, start, end, source)

    def fast_parser(self, index):
        """A function ``(line, values) -> Row or None`` for the records of a file whose
        columns are at ``index``: the row of a record that is right as it is, None for one
        that needs :meth:`parse` (a mistake, or a spelling the fast path leaves to it).

        It reads what most rows are (no control characters: the caller checks the file) in
        one pass, with what repeats read once; what it returns is what :meth:`parse` would.
        """
        column = index.get
        name_a, name_b = column("municipality_a"), column("municipality_b")
        country_a, country_b = column("country_a"), column("country_b")
        region_a, region_b = column("region_a"), column("region_b")
        lat_a, lon_a, lat_b, lon_b = (column(name) for name in ("lat_a", "lon_a", "lat_b", "lon_b"))
        kind_at, status_at, start_at, end_at = (
            column(name) for name in ("kind", "status", "start", "end")
        )
        source_at = column("source")
        place, choice, date = self._fast_place, self._fast_choice, self._fast_date
        texts = {}  # one string object for each distinct source text

        def side(values, name_at, country_at, region_at, lat_at, lon_at):
            name = " ".join(values[name_at].split())
            if not name or len(name) > MAX_NAME:
                return None
            found = place(values[country_at])
            if found is None:
                return None
            region = ""
            if region_at is not None:
                region = " ".join(values[region_at].split())
                if len(region) > MAX_NAME:
                    return None
            latitude = longitude = None
            if lat_at is not None or lon_at is not None:
                lat = values[lat_at].strip() if lat_at is not None else ""
                lon = values[lon_at].strip() if lon_at is not None else ""
                if lat or lon:
                    latitude, longitude = _fast_coordinate(lat, 90), _fast_coordinate(lon, 180)
                    if latitude is None or longitude is None:
                        return None
            country, home, search_in = found
            folded = name.lower() if name.isascii() else fold(name)
            return Side(name, folded, country, home, search_in, region, latitude, longitude)

        def parse(line, values):
            a = side(values, name_a, country_a, region_a, lat_a, lon_a)
            if a is None:
                return None
            b = side(values, name_b, country_b, region_b, lat_b, lon_b)
            if b is None or (a.folded == b.folded and a.home.id == b.home.id):
                return None
            kind = choice(values, kind_at, "kind", KIND_SPELLINGS, Kind.OFFICIAL)
            status = choice(values, status_at, "status", STATUS_SPELLINGS, Status.ACTIVE)
            if kind is None or status is None:
                return None
            start = end = None
            if start_at is not None:
                start = date(values[start_at])
                if start is False:
                    return None
            if end_at is not None:
                end = date(values[end_at])
                if end is False or (start and end and ends_before(end, start)):
                    return None
            source = ""
            if source_at is not None:
                source = values[source_at].strip()
                if len(source) > 500:
                    return None
                source = texts.setdefault(source, source)
            return Row(line, a, b, kind, status, start, end, source)

        return parse

    def _fast_place(self, text):
        """:meth:`place` for a valid country (None otherwise), without the error."""
        text = text.strip()
        try:
            return self._places[text]
        except KeyError:
            if not text:
                return None
            place = self._places[text] = self._place(text)
            return place

    def _fast_choice(self, values, at, name, spellings, default):
        """:meth:`choice` for a valid value (None otherwise), without the error."""
        text = values[at].strip() if at is not None else ""
        if not text:
            return default
        key = (name, text)
        try:
            return self._choices[key]
        except KeyError:
            value = self._choices[key] = spellings.get(fold(text))
            return value

    def _fast_date(self, text):
        """:meth:`date`: the date, None for none, False for a wrong one."""
        text = text.strip()
        if not text:
            return None
        try:
            value, problem = self._dates[text]
        except KeyError:
            value, problem = self._dates[text] = self._date(text)
        return False if problem else value

    def controls_ok(self, record, error):
        """False (with the errors said) if the record is malformed or holds control
        characters."""
        if None in record:
            error("", record[None])
            return False
        ok = True
        if self.check_controls:
            for name, value in record.items():
                if _CONTROL.search(value):
                    error(name, "contains a control character (such as NUL)")
                    ok = False
        return ok

    def _side(self, record, suffix, error):
        name = self.name(record, f"municipality_{suffix}", error)
        place = self.place(record, f"country_{suffix}", error)
        region = self.text(record, f"region_{suffix}", MAX_NAME, error, collapse=True)
        latitude, longitude = self.coordinates(record, f"lat_{suffix}", f"lon_{suffix}", error)
        if not name or not place or region is None or latitude is False:
            return None
        country, home, search_in = place
        return Side(name, _fold(name), country, home, search_in, region, latitude, longitude)

    @staticmethod
    def name(record, name, error):
        """The name in column ``name``, spaces collapsed; "" (with the error said) if bad."""
        value = " ".join(record.get(name, "").split())
        if not value:
            error(name, "is empty")
            return ""
        if len(value) > MAX_NAME:
            error(name, f"is longer than {MAX_NAME} characters")
            return ""
        return value

    @staticmethod
    def text(record, name, limit, error, *, collapse=False):
        """Optional text of at most ``limit`` characters; None (error said) if longer."""
        value = record.get(name, "")
        value = " ".join(value.split()) if collapse else value.strip()
        if len(value) > limit:
            error(name, f"is longer than {limit} characters")
            return None
        return value

    def place(self, record, name, error, *, required=True):
        """(country as given, home country for a new town, countries to search) or None."""
        text = record.get(name, "").strip()
        if not text:
            if required:
                error(name, "is empty")
            return None
        try:
            place = self._places[text]
        except KeyError:
            place = self._places[text] = self._place(text)
        if place is None:
            error(name, f"{text!r} is not a country we know")
        return place

    def _place(self, text):
        country = self.resolver.resolve(text)
        if country is None:
            return None
        today = self.resolver.today(country)
        home = today[0] if len(today) == 1 else country
        return country, home, tuple({country.pk, *(c.pk for c in today)})

    def coordinates(self, record, lat, lon, error):
        """(latitude, longitude), (None, None), or (False, False) with the error said."""
        latitude = self._coordinate(record, lat, 90, error)
        longitude = self._coordinate(record, lon, 180, error)
        if latitude is False or longitude is False:
            return False, False
        if (latitude is None) != (longitude is None):
            error(lat, "give both latitude and longitude, or neither")
            return False, False
        return latitude, longitude

    @staticmethod
    def _coordinate(record, name, limit, error):
        text = record.get(name, "").strip()
        if not text:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            error(name, f"{text!r} is not a number")
            return False
        if not value.is_finite() or not -limit <= value <= limit:
            error(name, f"{text} is not between -{limit} and {limit}")
            return False
        return value.quantize(Decimal("0.00001"))

    def choice(self, record, name, spellings, default, error):
        text = record.get(name, "").strip()
        if not text:
            return default
        key = (name, text)
        try:
            value = self._choices[key]
        except KeyError:
            value = self._choices[key] = spellings.get(fold(text))
        if value is None:
            known = ", ".join(sorted({str(v) for v in spellings.values()}))
            error(name, f"{text!r} is not one of {known}")
        return value

    def date(self, record, name, error):
        text = record.get(name, "").strip()
        if not text:
            return None
        try:
            value, problem = self._dates[text]
        except KeyError:
            value, problem = self._dates[text] = self._date(text)
        if problem:
            error(name, problem)
        return value

    def _date(self, text):
        try:
            value = PartialDate.parse(text)
        except ValueError as problem:
            return None, str(problem)
        if value.year > self.max_year:
            return None, f"{text} lies too far in the future"
        return value, None


class Matcher:
    """Finds the existing municipality a side names, by any of its names, accents ignored."""

    def __init__(self, countries, *, slugs=True):
        self.countries = countries
        self.index = {}  # (country id, folded name) -> pk, or a set of pks where several
        self.regions = {}  # pk -> folded region name, for those with a region
        self.slugs = {}  # pk -> slug (if asked for)
        if not countries:
            return
        towns = Municipality.objects.filter(country__in=countries).order_by()
        folded_regions = {}
        fields = ["pk", "country_id", "name_folded", "region__name"] + (["slug"] if slugs else [])
        for pk, country_id, folded, region, *slug in towns.values_list(*fields).iterator(
            chunk_size=10_000
        ):
            self._add((country_id, folded), pk)
            if region:
                if region not in folded_regions:
                    folded_regions[region] = fold(region)
                self.regions[pk] = folded_regions[region]
            if slug:
                self.slugs[pk] = slug[0]
        for pk, country_id, folded in (
            towns.filter(alternative_names__isnull=False)
            .values_list("pk", "country_id", "alternative_names__name_folded")
            .iterator(chunk_size=10_000)
        ):
            self._add((country_id, folded), pk)

    def _add(self, key, pk):
        known = self.index.get(key)
        if known is None:
            self.index[key] = pk
        elif isinstance(known, set):
            known.add(pk)
        elif known != pk:
            self.index[key] = {known, pk}

    def candidates(self, side):
        """The pks of the municipalities the side's name names, in its region if it gives one
        and that tells them apart."""
        candidates = set()
        if not self.index:
            return candidates
        for country_id in side.search_in:
            found = self.index.get((country_id, side.folded))
            if isinstance(found, set):
                candidates |= found
            elif found is not None:
                candidates.add(found)
        if len(candidates) > 1 and side.region:
            region = fold(side.region)
            candidates = {pk for pk in candidates if self.regions.get(pk, "") == region}
        return candidates

    def match(self, side):
        """(pk or None, error message or None)."""
        candidates = self.candidates(side)
        if len(candidates) > 1:
            return None, (
                f"{side.name!r} names {len(candidates)} municipalities in "
                f"{side.country.name_en}; give the region to tell them apart"
            )
        return (next(iter(candidates)) if candidates else None), None


def _parse_all(data, parser, report, required, columns, progress):
    """Parse every record of the file; return the valid rows, with the errors in ``report``.

    Streams: no list of raw records is kept, only what the rows need. A record goes through
    the parser's fast path where it has one (see :meth:`RowParser.fast_parser`); whatever that
    does not take as it is (anything with a mistake) gets the full check, with its messages.
    """
    rows = []
    append = rows.append
    lines = max(data.count(b"\n"), 1)
    records = _Records(data, required, columns)
    fast = None if parser.check_controls else parser.fast_parser(records.index)
    count = 0
    for line, values in records:
        count += 1
        parsed = fast(line, values) if fast is not None and values.__class__ is list else None
        if parsed is None:
            parsed = parser.parse(line, records.record(values))
            if parsed.__class__ is list:
                report.errors.extend(parsed)
                parsed = None
        if parsed is not None:
            append(parsed)
        if progress and count % 5000 == 0:
            progress(min(line, lines), lines)
    report.rows_read += count
    if progress:
        progress(lines, lines)
    return rows


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


def _finish_errors(report):
    report.rows_rejected = len({error.line for error in report.errors})
    report.errors.sort(key=lambda error: error.line)


@_without_cyclic_gc
def import_partnerships(
    data,
    *,
    file_name,
    skip_invalid=False,
    dry_run=False,
    geocode=False,
    user=None,
    progress=None,
    waiting=None,
):
    """Import the CSV ``data`` (bytes). Returns a Report; writes only if nothing is wrong.

    With ``skip_invalid``, good rows are written and bad ones reported; with ``dry_run``,
    nothing is written and the report says what would happen. With ``geocode``, the towns it
    creates without coordinates get them, with population and region, from GeoNames data.
    ``progress(lines done, lines)`` is called now and then while the rows are checked;
    ``waiting()`` if the import has to wait for another to end. An import that would
    create nothing writes nothing, not even its run (``report.run`` stays None). Raises
    :class:`ImportConflict` if another writer got in the way: nothing is written then.
    """
    report = Report()
    parser = RowParser(CountryResolver(), check_controls=bool(_CONTROL_BYTES.search(data)))
    rows = _parse_all(data, parser, report, REQUIRED, COLUMNS, progress)
    with _import_transaction(lock=not dry_run, waiting=waiting):
        countries = {pk for row in rows for side in (row.a, row.b) for pk in side.search_in}
        matcher = Matcher(countries)
        plan = _Plan(matcher, report)
        for row in rows:
            plan.add(row)
        del rows
        _finish_errors(report)
        plan.count_existing()
        if geocode:
            report.municipalities_geocoded = plan.geocode()
        report.municipalities_created = len(plan.new_towns)
        report.municipalities_matched = len(plan.matched)
        report.partnerships_created = len(plan.new_pairs)
        if dry_run or (report.errors and not skip_invalid):
            return report
        if not (plan.new_towns or plan.new_pairs):
            return report  # nothing new: no run either
        report.run = plan.write(user=user, file_name=file_name, data=data)
    report.written = True
    return report


class _Plan:
    """What the rows ask for, after matching and merging: new towns and new partnerships.

    A row adds to it only if both its towns are right: a rejected row adds nothing, neither a
    new town nor a matched one.
    """

    def __init__(self, matcher, report):
        self.matcher = matcher
        self.report = report
        self.new_towns = {}  # side key -> Side (first spelling and details win)
        self.matched = set()
        self.new_pairs = {}  # (kind, the two town refs in order) -> Row

    def _find(self, side):
        """(the town's ref: ("pk", id) or ("new", side key), None), or (None, problem); the
        plan does not change (see :meth:`_take`)."""
        if self.matcher.index:
            pk, problem = self.matcher.match(side)
            if problem:
                return None, problem
            if pk is not None:
                return ("pk", pk), None
        return ("new", (side.home.id, side.folded)), None

    def _take(self, side, ref):
        """Add the town ``ref`` (found by :meth:`_find`) to the plan: matched, or new (a town
        new already gets the region and coordinates it lacks)."""
        if ref[0] == "pk":
            self.matched.add(ref[1])
            return
        known = self.new_towns.get(ref[1])
        if known is None:
            self.new_towns[ref[1]] = side
        else:
            known.region = known.region or side.region
            if known.latitude is None:
                known.latitude, known.longitude = side.latitude, side.longitude

    def _ref(self, side):
        ref, problem = self._find(side)
        if ref is not None:
            self._take(side, ref)
        return ref, problem

    def add(self, row):
        refs = []
        for suffix, side in (("a", row.a), ("b", row.b)):
            ref, problem = self._find(side)
            if problem:
                self.report.errors.append(RowError(row.line, f"municipality_{suffix}", problem))
                return
            refs.append(ref)
        if refs[0] == refs[1]:
            self.report.errors.append(
                RowError(
                    row.line,
                    "municipality_b",
                    f"{row.b.name!r} is another name of {row.a.name!r}: "
                    "a town cannot be partnered with itself",
                )
            )
            return
        self._take(row.a, refs[0])
        self._take(row.b, refs[1])
        row.refs = tuple(refs)
        key = (row.kind, _pair(*refs))
        earlier = self.new_pairs.get(key)
        if earlier is None:
            self.new_pairs[key] = row
            return
        self.report.duplicates_merged += 1
        for name in ("start", "end", "source"):
            if not getattr(earlier, name):
                setattr(earlier, name, getattr(row, name))

    def geocode(self):
        """Fill in the new towns that have no coordinates; return how many were found."""
        missing = [side for side in self.new_towns.values() if side.latitude is None]
        if not missing:
            return 0
        geocoder = Geocoder({side.home.code for side in missing})
        taken = set(
            Municipality.objects.filter(
                geonames_id__isnull=False, country__in={side.home.pk for side in missing}
            ).values_list("geonames_id", flat=True)
        )
        found = 0
        for side in missing:
            place = geocoder.locate(side.name, side.home.code)
            if place is None:
                continue
            found += 1
            side.latitude, side.longitude = place["latitude"], place["longitude"]
            side.population = place["population"]
            side.region = side.region or place["region"]
            if place["geonames_id"] not in taken:
                side.geonames_id = place["geonames_id"]
                taken.add(side.geonames_id)
        return found

    def count_existing(self):
        """Drop the pairs the registry already has; count them."""
        existing_pairs = [key for key in self.new_pairs if all(ref[0] == "pk" for ref in key[1])]
        if not existing_pairs:
            return
        present = set()
        for first, second, kind in (
            Partnership.objects.filter(first__country__in=self.matcher.countries)
            .order_by()
            .values_list("first_id", "second_id", "kind")
            .iterator(chunk_size=10_000)
        ):
            present.add((kind, _pair(("pk", first), ("pk", second))))
        for key in existing_pairs:
            if key in present:
                del self.new_pairs[key]
                self.report.already_present += 1

    def write(self, *, user, file_name, data):
        report = self.report
        run = ImportRun.objects.create(
            user=user,
            file_name=file_name[:500],
            sha256=hashlib.sha256(data).hexdigest(),
            rows_read=report.rows_read,
            rows_rejected=report.rows_rejected,
            municipalities_created=len(self.new_towns),
            municipalities_matched=len(self.matched),
            partnerships_created=len(self.new_pairs),
            duplicates_merged=report.duplicates_merged,
            already_present=report.already_present,
        )
        counts = Counter()
        for (kind, refs), row in self.new_pairs.items():
            if counting.counts(kind, row.status):
                counts.update(ref[1] for ref in refs if ref[0] == "new")
        towns = _write_towns(run, self.new_towns.values(), counts)
        slug_of = self.matcher.slugs

        new_towns = self.new_towns

        def town(ref):
            if ref[0] == "pk":
                return ref[1], slug_of[ref[1]]
            side = new_towns[ref[1]]
            return side.pk, side.slug

        sources = _write_sources(row.source for row in self.new_pairs.values())
        slugs = set(Partnership.objects.order_by().values_list("slug", flat=True))
        ids = _reserve_ids(Partnership, len(self.new_pairs))
        links = []

        def partnerships():
            run_pk = run.pk
            for pk, ((kind, _refs), row) in zip(ids, self.new_pairs.items(), strict=True):
                first, first_slug = town(row.refs[0])
                second, second_slug = town(row.refs[1])
                if row.source:
                    links.append((pk, sources[row.source]))
                slug = f"{first_slug}--{second_slug}"[:180]
                if slug in slugs:
                    slug = _free(slug, slugs, suffix=kind)
                else:
                    slugs.add(slug)
                then_a, then_b = row.a.country, row.b.country
                yield (
                    pk,
                    kind,
                    first,
                    second,
                    slug,
                    then_a.pk if then_a.historical else None,
                    then_b.pk if then_b.historical else None,
                    row.start,
                    row.end,
                    row.status,
                    run_pk,
                )

        _insert(
            Partnership,
            [
                "id",
                "kind",
                "first",
                "second",
                "slug",
                "first_country_at_signing",
                "second_country_at_signing",
                "start",
                "end",
                "status",
                "import_run",
            ],
            partnerships(),
            written={Municipality: towns},
        )
        through = Partnership.sources.through
        _insert(through, ["partnership", "source"], links, written={Partnership: ids})
        _analyze(Municipality, Partnership, needed=bool(self.matched))
        if self.matched:
            # The existing towns that gain a partnership in force: one UPDATE, by the rule,
            # after any other transaction's recount (registry.signals.recount).
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PARTNER_COUNT_LOCK])
            counted = Partnership.objects.counted().filter(import_run=run)
            Municipality.objects.filter(
                Q(pk__in=counted.values("first")) | Q(pk__in=counted.values("second"))
            ).exclude(import_run=run).recount_partners()
        data_changed()
        return run


_SLUG_DROP = re.compile(r"[^\w\s-]")
_SLUG_DASHES = re.compile(r"[-\s]+")


def _slug(folded):
    """``slugify(folded)``, quicker for ASCII (already lower case: folded), the same slug."""
    if folded.isascii():
        if folded.replace(" ", "").isalnum():  # ASCII letters and digits: most names
            return "-".join(folded.split())
        return _SLUG_DASHES.sub("-", _SLUG_DROP.sub("", folded)).strip("-_")
    return slugify(folded)


def _pk(instance):
    return instance.pk if instance is not None else None


def _write_towns(run, sides, counts=None):
    """Create the new municipalities (and their new regions) of ``sides``, with their
    partner counts (``counts``: by side key); each side learns its town's pk and slug.
    Return the new towns' keys.

    The towns are written, and given their keys, in the order of their names (a stable
    sort: of two towns of one name, the first in the file keeps the plain slug): the indexes
    on the key, the slug and the name are then filled from one end, which costs the
    database least (bench/NOTES.md)."""
    sides = sorted(sides, key=_by_folded_name)
    if not sides:
        return ()
    countries = {side.home.id for side in sides}
    regions = {
        (country_id, fold(name)): pk
        for pk, country_id, name in Region.objects.filter(country__in=countries).values_list(
            "pk", "country_id", "name"
        )
    }
    folded = {}  # each distinct region name folded once
    new_regions = {}
    for side in sides:
        if side.region:
            if side.region not in folded:
                folded[side.region] = fold(side.region)
            key = (side.home.id, folded[side.region])
            if key not in regions and key not in new_regions:
                new_regions[key] = Region(country=side.home, name=side.region)
    Region.objects.bulk_create(new_regions.values(), batch_size=BATCH)
    regions.update({key: region.pk for key, region in new_regions.items()})
    slugs = set(Municipality.objects.order_by().values_list("slug", flat=True))
    ids = _reserve_ids(Municipality, len(sides))
    counts = counts or {}
    suffixes = {}  # country id -> the slug suffix that tells towns of the same name apart
    city = Municipality.Kind.CITY

    def towns():
        run_pk = run.pk
        for pk, side in zip(ids, sides, strict=True):
            home = side.home.id
            base = _slug(side.folded)[:150] or "municipality"
            if base in slugs:
                if home not in suffixes:
                    suffixes[home] = side.home.code.lower()
                slug = _free(base, slugs, suffixes[home])
            else:
                slugs.add(base)
                slug = base
            side.pk, side.slug = pk, slug
            yield (
                pk,
                side.name,
                side.folded,
                slug,
                side.kind or city,
                home,
                regions.get((home, folded[side.region])) if side.region else None,
                side.latitude,
                side.longitude,
                side.population,
                side.geonames_id,
                side.wikidata_id,
                run_pk,
                counts.get((home, side.folded), 0) if counts else 0,
            )

    _insert(
        Municipality,
        [
            "id",
            "name",
            "name_folded",
            "slug",
            "kind",
            "country",
            "region",
            "latitude",
            "longitude",
            "population",
            "geonames_id",
            "wikidata_id",
            "import_run",
            "partner_count",
        ],
        towns(),
    )
    return ids


_by_folded_name = operator.attrgetter("folded")


def _write_sources(texts):
    """One Source per distinct source text, shared with earlier imports of it; map each
    text to its source's pk."""
    texts = {text for text in texts if text}
    keys = {
        text: "import-" + hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]
        for text in texts
    }
    if not keys:
        return {}
    found = dict(Source.objects.filter(key__in=keys.values()).values_list("key", "pk"))
    new = [
        Source(
            key=key,
            citation=text[:500],
            url=text if re.match(r"https?://\S+$", text) else "",
        )
        for text, key in keys.items()
        if key not in found
    ]
    Source.objects.bulk_create(new, batch_size=BATCH)
    found.update({source.key: source.pk for source in new})
    return {text: found[key] for text, key in keys.items()}


def _reserve_ids(model, count):
    """``count`` primary keys for new rows of ``model`` that no other writer will take.

    PostgreSQL hands them out from the table's sequence. SQLite lets one writer in at a time,
    and the import run, written first, holds the lock: the keys follow the highest ever used
    (AUTOINCREMENT's ``sqlite_sequence``), so a deleted row's key is never reused.
    """
    if not count:
        return []
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The sequence found once (not once per key), and the keys handed back as their
            # range where no other writer took one in between (as good as always), else all.
            cursor.execute(
                "WITH reserved AS (SELECT nextval((SELECT pg_get_serial_sequence(%s, %s)"
                "::regclass)) AS pk FROM generate_series(1, %s)) "
                "SELECT MIN(pk), MAX(pk), CASE WHEN MAX(pk) - MIN(pk) + 1 = COUNT(*) THEN NULL "
                "ELSE array_agg(pk ORDER BY pk) END FROM reserved",
                [connection.ops.quote_name(table), column, count],
            )
            first, last, scattered = cursor.fetchone()
            return scattered if scattered is not None else range(first, last + 1)
        quoted = connection.ops.quote_name(column), connection.ops.quote_name(table)
        highest = "SELECT MAX(%s) FROM %s" % quoted  # noqa: S608, UP031 (model names)  # nosec B608
        cursor.execute(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "  # noqa: S608 (model names)
            f"COALESCE(({highest}), 0))",  # nosec B608
            [table],
        )
        first = cursor.fetchone()[0] + 1
    return range(first, first + count)


def _insert(model, names, rows, *, written=None):
    """Insert ``rows`` (tuples of database values in the order of the fields ``names``) into
    ``model``'s table in one statement: ``COPY`` on PostgreSQL, ``executemany`` elsewhere.

    Every other column gets its field's default, so a field added to the model later with a
    default needs no change here. No model instances, no signals: the caller keeps the
    derived columns (``name_folded``, ``partner_count``) right itself.

    ``written`` (model -> keys) names rows this transaction wrote itself, which the rows may
    refer to without a check (see :func:`_copy`).
    """
    opts = model._meta
    fields = [opts.get_field(name) for name in names]
    # The primary key, if not given, is the database's to assign.
    rest = [field for field in opts.concrete_fields if field not in fields and field is not opts.pk]
    defaults = tuple(field.get_db_prep_save(field.get_default(), connection) for field in rest)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _copy(cursor, opts, fields + rest, (row + defaults for row in rows), written or {})
            return
        columns = ", ".join(connection.ops.quote_name(field.column) for field in fields + rest)
        table = connection.ops.quote_name(opts.db_table)
        marks = ", ".join(["%s"] * (len(fields) + len(rest)))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 (model names)  # nosec B608
        # In lists of CHUNK rows: Django's SQLite cursor peeks at an iterator through tee(),
        # which would keep every row of one long iterator until the end.
        rows = iter(rows)
        while chunk := [row + defaults for row in itertools.islice(rows, CHUNK)]:
            cursor.executemany(sql, chunk)


def _copy(cursor, opts, fields, rows, written):
    """``COPY`` ``rows`` (values of ``fields``) into the table of ``opts``, on PostgreSQL.

    The database checks each foreign key of each row with a lookup of its own when the
    transaction commits: a million lookups for an import of 100,000 partnerships, more time
    than all the rest of the import. Where this role may turn triggers off for its session
    (``session_replication_role``: a superuser's, or granted with ``GRANT SET ON PARAMETER``)
    and the table has no trigger on insert but those checks, the same check is made here
    instead, once per distinct key: every key must name an existing row, which is locked
    ``FOR KEY SHARE`` just as the database's own check locks it, so that no other
    transaction can delete it before this one commits. Keys of rows this transaction wrote
    itself (``written``) are known to exist and seen by no one else. Otherwise the database
    checks every row as usual. Either way a missing row is an ``IntegrityError`` and nothing
    is written.
    """
    quote = connection.ops.quote_name
    table = quote(opts.db_table)
    columns = ", ".join(quote(field.column) for field in fields)
    sql = f"COPY {table} ({columns}) FROM STDIN"
    references = [(at, f) for at, f in enumerate(fields) if f.many_to_one and f.db_constraint]
    role = None
    if references:
        # In one statement: the role in force, read first (the CTE), and the switch, made
        # only where allowed (CASE evaluates it only then).
        cursor.execute(
            "WITH now AS MATERIALIZED (SELECT current_setting('session_replication_role') AS "
            "role, has_parameter_privilege('session_replication_role', 'SET') AND NOT EXISTS ("
            "SELECT 1 FROM pg_trigger WHERE tgrelid = %s::regclass AND tgtype & 4 <> 0 "
            "AND tgfoid <> '\"RI_FKey_check_ins\"'::regproc) AS may) "
            "SELECT role, CASE WHEN may THEN set_config('session_replication_role', 'replica', "
            "true) END FROM now",
            [table],
        )
        role, switched = cursor.fetchone()
        if switched is None:
            role = None
    # The keys to check here, each once: not those of rows written by this transaction
    # (none where the database checks them).
    checks = []
    for at, key in references if role is not None else ():
        known = written.get(key.related_model, ())
        if not isinstance(known, range | set | frozenset):
            known = set(known)
        checks.append((at, key, known, set()))
    with cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
            for at, _, known, keys in checks:
                value = row[at]
                if value is not None and value not in known:
                    keys.add(value)
    if role is None:
        return
    cursor.execute("SELECT set_config('session_replication_role', %s, true)", [role])
    checks = [(key, keys) for _, key, _, keys in checks if keys]
    _check_references(cursor, opts, checks)


def _check_references(cursor, opts, checks):
    """Raise ``IntegrityError`` unless each key of ``checks`` (foreign key, keys) names a row
    of the key's target; lock those rows ``FOR KEY SHARE``. One statement for all."""
    if not checks:
        return
    quote = connection.ops.quote_name

    def target(key):
        return quote(key.related_model._meta.db_table), quote(key.target_field.column)

    locked = ", ".join(
        "k%d AS (SELECT 1 FROM %s WHERE %s = ANY(%%s) FOR KEY SHARE)" % (n, *target(key))  # noqa: S608, UP031 (model names)  # nosec B608
        for n, (key, _) in enumerate(checks)
    )
    counts = " UNION ALL ".join(f"SELECT {n}, COUNT(*) FROM k{n}" for n in range(len(checks)))  # noqa: S608  # nosec B608
    cursor.execute(f"WITH {locked} {counts}", [list(keys) for _, keys in checks])  # nosec B608
    for n, found in sorted(cursor.fetchall()):
        key, keys = checks[n]
        if found == len(keys):
            continue
        table, column = target(key)
        cursor.execute(
            f"SELECT key FROM unnest(%s) AS key EXCEPT SELECT {column} FROM {table} "  # noqa: S608 (model names)  # nosec B608
            "ORDER BY 1 LIMIT 5",
            [list(keys)],
        )
        missing = ", ".join(str(row[0]) for row in cursor.fetchall())
        raise IntegrityError(
            f'insert into "{opts.db_table}" violates its foreign key on "{key.column}": '
            f'no row {missing} in "{key.related_model._meta.db_table}"'
        )


def _analyze(*models, needed=True):
    """Refresh the planner's statistics after a bulk write.

    Without them the planner still thinks the tables as small as before the import and
    counts partners by scanning instead of through the side indexes (19 s instead of 1 s
    for 25,000 rows on PostgreSQL). SQLite never analyzes by itself; PostgreSQL's
    autovacuum analyzes a table soon after a bulk write, so there only where a query of this
    transaction needs the statistics at once (``needed``).
    """
    if connection.vendor == "postgresql" and not needed:
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _free(base, taken, suffix):
    """A slug not in ``taken`` (which it joins): base, base-suffix, base-suffix-2, ..."""
    for candidate in (base, f"{base}-{suffix}"):
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    number = 2
    while f"{base}-{suffix}-{number}" in taken:
        number += 1
    candidate = f"{base}-{suffix}-{number}"
    taken.add(candidate)
    return candidate


def export_rows(partnerships):
    """The CSV rows of ``import_partnerships`` for bilateral partnerships, header first."""
    yield COLUMNS
    for partnership in partnerships:
        source = next(iter(partnership.sources.all()), None)
        a, b = partnership.first, partnership.second
        yield [
            a.name,
            a.country.code,
            b.name,
            b.country.code,
            partnership.kind,
            partnership.start or "",
            partnership.end or "",
            partnership.status,
            a.region.name if a.region else "",
            b.region.name if b.region else "",
            a.latitude if a.latitude is not None else "",
            a.longitude if a.longitude is not None else "",
            b.latitude if b.latitude is not None else "",
            b.longitude if b.longitude is not None else "",
            (source.url or source.citation) if source else "",
        ]


# Municipalities without partners: import_municipalities.

TOWN_REQUIRED = ["name", "country"]
TOWN_COLUMNS = [
    *TOWN_REQUIRED,
    "kind",
    "region",
    "lat",
    "lon",
    "population",
    "wikidata_id",
    "geonames_id",
    "source",
]
TOWN_KIND_SPELLINGS = {
    **{fold(kind.value): kind for kind in Municipality.Kind},
    **{fold(str(kind.label)): kind for kind in Municipality.Kind},
    "town": Municipality.Kind.CITY,
    "stadt": Municipality.Kind.CITY,
    "gemeinde": Municipality.Kind.MUNICIPALITY,
    "district": Municipality.Kind.BOROUGH,
    "bezirk": Municipality.Kind.BOROUGH,
    "kreis": Municipality.Kind.COUNTY,
    "landkreis": Municipality.Kind.COUNTY,
    "state": Municipality.Kind.REGION,
    "prefecture": Municipality.Kind.REGION,
}
LARGEST = 2_147_483_647  # the largest positive integer every database stores


@dataclass
class TownReport(Report):
    def summary(self):
        return {
            "rows read": self.rows_read,
            "rows rejected": self.rows_rejected,
            "municipalities created": self.municipalities_created,
            "duplicates merged": self.duplicates_merged,
            "already in the registry": self.already_present,
        }


class TownParser(RowParser):
    def fast_parser(self, index):
        """:meth:`RowParser.fast_parser` for towns: the Side of a right record, else None."""
        column = index.get
        name_at, country_at, region_at = column("name"), column("country"), column("region")
        lat_at, lon_at, population_at = column("lat"), column("lon"), column("population")
        geonames_at, wikidata_at, source_at = (
            column(name) for name in ("geonames_id", "wikidata_id", "source")
        )
        kind_at = column("kind")
        place, choice = self._fast_place, self._fast_choice
        texts = {}  # one string object for each distinct region and source
        city = Municipality.Kind.CITY

        def number(values, at):
            """The whole number at ``at``: None for none, False for a wrong one."""
            text = values[at].strip() if at is not None else ""
            if not text:
                return None
            if not (text.isascii() and text.isdigit()) or int(text) > LARGEST:
                return False
            return int(text)

        def parse(line, values):
            name = " ".join(values[name_at].split())
            if not name or len(name) > MAX_NAME:
                return None
            found = place(values[country_at])
            if found is None:
                return None
            kind = choice(values, kind_at, "kind", TOWN_KIND_SPELLINGS, city)
            if kind is None:
                return None
            region = ""
            if region_at is not None:
                region = " ".join(values[region_at].split())
                if len(region) > MAX_NAME:
                    return None
                region = texts.setdefault(region, region)
            latitude = longitude = None
            lat = values[lat_at].strip() if lat_at is not None else ""
            lon = values[lon_at].strip() if lon_at is not None else ""
            if lat or lon:
                latitude, longitude = _fast_coordinate(lat, 90), _fast_coordinate(lon, 180)
                if latitude is None or longitude is None:
                    return None
            population, geonames_id = number(values, population_at), number(values, geonames_at)
            if population is False or geonames_id is False:
                return None
            wikidata_id = ""
            if wikidata_at is not None:
                wikidata_id = values[wikidata_at].strip().upper()
                if wikidata_id and not (wikidata_id[:1] == "Q" and wikidata_id[1:].isdigit()):
                    return None
            source = ""
            if source_at is not None:
                source = values[source_at].strip()
                if len(source) > 500:
                    return None
                source = texts.setdefault(source, source)
            country, home, search_in = found
            return Side(
                name,
                name.lower() if name.isascii() else fold(name),
                country,
                home,
                search_in,
                region,
                latitude,
                longitude,
                population,
                geonames_id,
                kind,
                wikidata_id,
                source,
                line,
            )

        return parse

    def check(self, line, record, error):
        """The valid Side (the town); ``None`` after reporting a mistake through ``error``."""
        name = self.name(record, "name", error)
        place = self.place(record, "country", error)
        kind = self.choice(record, "kind", TOWN_KIND_SPELLINGS, Municipality.Kind.CITY, error)
        region = self.text(record, "region", MAX_NAME, error, collapse=True)
        latitude, longitude = self.coordinates(record, "lat", "lon", error)
        population = self.whole_number(record, "population", error)
        geonames_id = self.whole_number(record, "geonames_id", error)
        wikidata_id = record.get("wikidata_id", "").strip().upper()
        if wikidata_id and not (wikidata_id[:1] == "Q" and wikidata_id[1:].isdigit()):
            error("wikidata_id", f"{wikidata_id!r} is not a Wikidata id (Q and digits, e.g. Q365)")
        source = self.text(record, "source", 500, error)
        if error:
            return None
        country, home, search_in = place
        return Side(
            name,
            _fold(name),
            country,
            home,
            search_in,
            region,
            latitude,
            longitude,
            population,
            geonames_id,
            kind,
            wikidata_id,
            source,
            line,
        )

    @staticmethod
    def whole_number(record, name, error):
        text = record.get(name, "").strip()
        if not text:
            return None
        if not text.isdigit():
            error(name, f"{text!r} is not a whole number of 0 or more")
            return None
        if int(text) > LARGEST:
            error(name, f"{text} is too large")
            return None
        return int(text)


@_without_cyclic_gc
def import_municipalities(
    data, *, file_name, skip_invalid=False, dry_run=False, user=None, progress=None, waiting=None
):
    """Import municipalities (without partners) from the CSV ``data`` (bytes).

    A town the registry has already (by any of its names in the same country and, where the
    row gives one, in the same region or in none) is not created again; a town listed twice
    (same name, country and region) is one town, with the details of both. GeoNames and
    Wikidata ids must be new. Otherwise as :func:`import_partnerships`: every row validated
    before anything is written, one transaction, an :class:`ImportRun` that can be reverted,
    none where nothing is new.
    """
    report = TownReport()
    parser = TownParser(CountryResolver(), check_controls=bool(_CONTROL_BYTES.search(data)))
    towns = _parse_all(data, parser, report, TOWN_REQUIRED, TOWN_COLUMNS, progress)
    with _import_transaction(lock=not dry_run, waiting=waiting):
        new = _new_towns(towns, report)
        del towns
        _finish_errors(report)
        report.municipalities_created = len(new)
        if dry_run or (report.errors and not skip_invalid) or not new:
            return report
        run = ImportRun.objects.create(
            user=user,
            file_name=file_name[:500],
            sha256=hashlib.sha256(data).hexdigest(),
            rows_read=report.rows_read,
            rows_rejected=report.rows_rejected,
            municipalities_created=len(new),
            duplicates_merged=report.duplicates_merged,
            already_present=report.already_present,
        )
        towns = _write_towns(run, new.values())
        sources = _write_sources(town.source for town in new.values())
        _insert(
            Municipality.sources.through,
            ["municipality", "source"],
            ((town.pk, sources[town.source]) for town in new.values() if town.source),
            written={Municipality: towns},
        )
        _analyze(Municipality, needed=False)
        data_changed()
    report.run, report.written = run, True
    return report


def _new_towns(towns, report):
    """The towns of ``towns`` the registry does not have, merged, by (country id, folded
    name, folded region); what is wrong with the others goes to ``report``."""
    matcher = Matcher({pk for town in towns for pk in town.search_in}, slugs=False)
    taken = {"geonames_id": {}, "wikidata_id": {}}
    for name in taken:
        if any(getattr(town, name) for town in towns):
            taken[name] = dict(
                Municipality.objects.exclude(**{f"{name}__isnull": True})
                .exclude(**({name: ""} if name == "wikidata_id" else {}))
                .order_by()
                .values_list(name, "name")
                .iterator(chunk_size=10_000)
            )
    new = {}
    folded = {"": ""}  # each distinct region name folded once
    ids = (("geonames_id", "GeoNames id"), ("wikidata_id", "Wikidata id"))
    for town in towns:
        if town.region not in folded:
            folded[town.region] = fold(town.region)
        region = folded[town.region]
        if matcher.index:
            candidates = matcher.candidates(town)
            if region:
                candidates = {
                    pk for pk in candidates if matcher.regions.get(pk, "") in ("", region)
                }
            if candidates:
                report.already_present += 1
                continue
        key = (town.home.id, town.folded, region)
        earlier = new.get(key)
        if town.geonames_id or town.wikidata_id:
            problems = [
                RowError(town.line, name, f"{value} is already the {label} of {holder}")
                for name, label in ids
                if (value := getattr(town, name))
                and (holder := taken[name].get(value)) is not None
                and not (earlier is not None and getattr(earlier, name) == value)
            ]
            if problems:
                report.errors.extend(problems)
                continue
        if earlier is None:
            new[key] = town
        else:
            report.duplicates_merged += 1
            for name in ("latitude", "population", "geonames_id", "wikidata_id", "source"):
                if not getattr(earlier, name) and getattr(town, name):
                    setattr(earlier, name, getattr(town, name))
                    if name == "latitude":
                        earlier.longitude = town.longitude
        if town.geonames_id:
            taken["geonames_id"][town.geonames_id] = town.name
        if town.wikidata_id:
            taken["wikidata_id"][town.wikidata_id] = town.name
    return new


# Events of partnerships, networks and municipalities: import_events.

EVENT_REQUIRED = ["kind", "date", "title"]
EVENT_COLUMNS = [
    *EVENT_REQUIRED,
    "partnership",
    "municipality_a",
    "country_a",
    "region_a",
    "municipality_b",
    "country_b",
    "region_b",
    "partnership_kind",
    "award",
    "country_at_time",
    "place",
    "participants",
    "description",
    "source",
]
EVENT_KIND_SPELLINGS = {
    **{fold(kind.value): kind for kind in Event.Kind},
    **{fold(str(kind.label)): kind for kind in Event.Kind},
}
AWARD_SPELLINGS = {
    **{fold(award.value): award for award in Event.Award},
    **{fold(str(award.label)): award for award in Event.Award},
}


@dataclass(slots=True)
class EventRow:
    line: int
    kind: str
    date: PartialDate
    title: str
    award: str
    country_at_time: object
    place: str
    participants: str
    description: str
    source: str
    slug: str
    a: Side | None
    b: Side | None
    partnership_kind: str
    subject: tuple = ()  # ("partnership", pk) or ("municipality", pk), once found


@dataclass
class EventReport(Report):
    events_created: int = 0

    def summary(self):
        return {
            "rows read": self.rows_read,
            "rows rejected": self.rows_rejected,
            "events created": self.events_created,
            "duplicates merged": self.duplicates_merged,
            "already in the registry": self.already_present,
        }


class EventParser(RowParser):
    def fast_parser(self, index):
        """None: every event row gets the full check."""
        return None

    def check(self, line, record, error):
        """The valid EventRow; ``None`` after reporting a mistake through ``error``."""
        kind = self.choice(record, "kind", EVENT_KIND_SPELLINGS, None, error)
        if not record.get("kind", "").strip():
            error("kind", "is empty")
        date = self.date(record, "date", error)
        if not record.get("date", "").strip():
            error("date", "is empty")
        title = self.name(record, "title", error)
        award = self.choice(record, "award", AWARD_SPELLINGS, "", error)
        if kind == Event.Kind.AWARD and not award and not record.get("award", "").strip():
            error("award", "name the level of the award")
        if kind and kind != Event.Kind.AWARD and award:
            error("award", "only an award has a level")
        then = self.place(record, "country_at_time", error, required=False)
        place = self.text(record, "place", MAX_NAME, error, collapse=True)
        participants = self.text(record, "participants", 10_000, error)
        description = self.text(record, "description", 10_000, error)
        source = self.text(record, "source", 500, error)
        slug = record.get("partnership", "").strip()
        partnership_kind = self.choice(record, "partnership_kind", KIND_SPELLINGS, "", error)
        names = [
            record.get(f"{part}_{suffix}", "").strip()
            for part in ("municipality", "country")
            for suffix in ("a", "b")
        ]
        a = b = None
        if slug:
            if any(names):
                error("partnership", "give the partnership or the municipalities, not both")
        else:
            a = self._town(record, "a", error)
            if record.get("municipality_b", "").strip() or record.get("country_b", "").strip():
                b = self._town(record, "b", error)
                if a and b and a.key == b.key:
                    error("municipality_b", f"{b.name!r} is the same town as {a.name!r}")
        if error:
            return None
        return EventRow(
            line,
            kind,
            date,
            title,
            award,
            then[0] if then else None,
            place,
            participants,
            description,
            source,
            slug,
            a,
            b,
            partnership_kind,
        )

    def _town(self, record, suffix, error):
        name = self.name(record, f"municipality_{suffix}", error)
        place = self.place(record, f"country_{suffix}", error)
        region = self.text(record, f"region_{suffix}", MAX_NAME, error, collapse=True)
        if not name or not place or region is None:
            return None
        country, home, search_in = place
        return Side(name, _fold(name), country, home, search_in, region)


def _subject_lookups(rows):
    """What :func:`_subject` finds the rows' partnerships in: a matcher of the towns the rows
    name, the partnerships between towns of their countries by pair (kind and key), and every
    partnership's key by slug; each read only when some row needs it."""
    sides = [side for row in rows for side in (row.a, row.b) if side]
    matcher = Matcher({pk for side in sides for pk in side.search_in}, slugs=False)
    pairs = {}
    if any(row.b for row in rows):
        for pk, first, second, kind in (
            Partnership.objects.filter(first__country__in=matcher.countries)
            .order_by("pk")
            .values_list("pk", "first_id", "second_id", "kind")
            .iterator(chunk_size=10_000)
        ):
            pairs.setdefault(_pair(first, second), []).append((kind, pk))
    slugs = {}
    if any(row.slug for row in rows):
        slugs = dict(Partnership.objects.order_by().values_list("slug", "pk").iterator(10_000))
    return matcher, pairs, slugs


@_without_cyclic_gc
def import_events(
    data, *, file_name, skip_invalid=False, dry_run=False, user=None, progress=None, waiting=None
):
    """Import events from the CSV ``data`` (bytes) into partnerships, networks and towns the
    registry has.

    A row's subject is the partnership or network whose slug ``partnership`` gives; else the
    bilateral partnership between ``municipality_a`` and ``municipality_b`` (either way round;
    ``partnership_kind`` chooses where they have several); else, without ``municipality_b``,
    the town ``municipality_a`` itself. An event the registry has (same subject, kind, date
    and title) is not created again; one listed twice is one event. Otherwise as
    :func:`import_partnerships`: every row validated before anything is written, one
    transaction, an :class:`ImportRun` that can be reverted (which deletes its events), none
    where nothing is new.
    """
    report = EventReport()
    parser = EventParser(CountryResolver(), check_controls=bool(_CONTROL_BYTES.search(data)))
    rows = _parse_all(data, parser, report, EVENT_REQUIRED, EVENT_COLUMNS, progress)
    with _import_transaction(lock=not dry_run, waiting=waiting):
        new = _new_events(rows, report)
        del rows
        _finish_errors(report)
        report.events_created = len(new)
        if dry_run or (report.errors and not skip_invalid) or not new:
            return report
        run = ImportRun.objects.create(
            user=user,
            file_name=file_name[:500],
            sha256=hashlib.sha256(data).hexdigest(),
            rows_read=report.rows_read,
            rows_rejected=report.rows_rejected,
            events_created=len(new),
            duplicates_merged=report.duplicates_merged,
            already_present=report.already_present,
        )
        sources = _write_sources(row.source for row in new.values())
        ids = _reserve_ids(Event, len(new))
        links = []

        def events():
            for pk, row in zip(ids, new.values(), strict=True):
                if row.source:
                    links.append((pk, sources[row.source]))
                partnership = row.subject[1] if row.subject[0] == "partnership" else None
                municipality = row.subject[1] if row.subject[0] == "municipality" else None
                yield (
                    pk,
                    row.kind,
                    row.title,
                    row.date,
                    partnership,
                    municipality,
                    row.award,
                    _pk(row.country_at_time),
                    row.place,
                    row.participants,
                    row.description,
                    run.pk,
                )

        _insert(
            Event,
            [
                "id",
                "kind",
                "title",
                "date",
                "partnership",
                "municipality",
                "award",
                "country_at_time",
                "place",
                "participants",
                "description",
                "import_run",
            ],
            events(),
        )
        _insert(Event.sources.through, ["event", "source"], links, written={Event: ids})
        _analyze(Event, needed=False)
        data_changed()
    report.run, report.written = run, True
    return report


def _new_events(rows, report):
    """The events of ``rows`` the registry does not have, merged, by (subject, kind, date,
    title); what is wrong with the others goes to ``report``."""
    matcher, pairs, slugs = _subject_lookups(rows)
    found = []
    for row in rows:
        subject, problem = _subject(row, matcher, pairs, slugs)
        if problem:
            report.errors.append(RowError(row.line, *problem))
        else:
            row.subject = subject
            found.append(row)
    subjects = {row.subject for row in found}
    present = set()
    for partnership, municipality, kind, date, title in (
        Event.objects.order_by()
        .values_list("partnership_id", "municipality_id", "kind", "date", "title")
        .iterator(chunk_size=10_000)
    ):
        subject = ("partnership", partnership) if partnership else ("municipality", municipality)
        if subject in subjects:
            present.add((subject, kind, date, title))
    new = {}
    for row in found:
        key = (row.subject, row.kind, row.date, row.title)
        if key in present:
            report.already_present += 1
        elif key in new:
            report.duplicates_merged += 1
            earlier = new[key]
            for name in ("award", "place", "participants", "description", "source"):
                if not getattr(earlier, name):
                    setattr(earlier, name, getattr(row, name))
            earlier.country_at_time = earlier.country_at_time or row.country_at_time
        else:
            new[key] = row
    return new


def _subject(row, matcher, pairs, slugs):
    """(("partnership" or "municipality", pk), None), or (None, (column, problem))."""
    if row.slug:
        pk = slugs.get(row.slug)
        if pk is None:
            return None, ("partnership", f"no partnership or network has the slug {row.slug!r}")
        return ("partnership", pk), None
    towns = []
    for suffix, side in (("a", row.a), ("b", row.b)):
        if side is None:
            continue
        pk, problem = matcher.match(side)
        if problem:
            return None, (f"municipality_{suffix}", problem)
        if pk is None:
            return None, (
                f"municipality_{suffix}",
                f"{side.name!r} is not a municipality of {side.country.name_en} in the registry",
            )
        towns.append(pk)
    if len(towns) == 1:
        return ("municipality", towns[0]), None
    if towns[0] == towns[1]:
        return None, ("municipality_b", f"{row.b.name!r} is another name of {row.a.name!r}")
    between = [
        (kind, pk)
        for kind, pk in pairs.get(_pair(*towns), [])
        if not row.partnership_kind or kind == row.partnership_kind
    ]
    of_kind = f" of kind {row.partnership_kind}" if row.partnership_kind else ""
    if not between:
        return None, (
            "municipality_b",
            f"{row.a.name!r} and {row.b.name!r} have no partnership{of_kind} in the registry",
        )
    if len(between) > 1:
        return None, (
            "partnership_kind",
            f"{row.a.name!r} and {row.b.name!r} have {len(between)} partnerships; "
            "give partnership_kind to choose one",
        )
    return ("partnership", between[0][1]), None


_COORDINATE = re.compile(r"-?(?:0|[1-9][0-9]{0,2})(?:\.[0-9]{1,5})?")


def _fast_coordinate(text, limit):
    """The coordinate ``text`` as :meth:`RowParser._coordinate` gives it (as the text of the
    same value to five places, which is what the database stores), or None where the text
    is not plainly a number within ``limit`` of five places at most: that one it must read.
    """
    if not _COORDINATE.fullmatch(text) or not 0 < abs(float(text)) <= limit:
        return None  # (0 too: as a Decimal it is false, which merging duplicates reads)
    whole, _, places = text.partition(".")
    return f"{whole}.{places:0<5}"
