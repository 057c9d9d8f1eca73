"""Checking the rows of an import file: the row parser, its fast path, the spellings it reads.

:class:`RowParser` checks one record of a partnership list and makes it a :class:`Row` of two
:class:`Side` s, or the list of its :class:`RowError` s; the parsers of the other kinds of
file are its subclasses, with the same readers of names, countries, dates and choices, and the
same messages. :func:`parse_rows` reads every record of a file through the parser's fast path
(which hands any record it doubts to the full check) and collects the rows and the errors.
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from registry.dates import YEARS_AHEAD, PartialDate, ends_before
from registry.importing.reading import CONTROL, Records, RowError
from registry.models import Partnership
from registry.text import fold

MAX_NAME = 200
"""The longest name (of a town, a region, a network) an import takes."""

Kind = Partnership.Kind
Status = Partnership.Status

# The spellings of a partnership's kind and status that real lists use, folded (English and
# German, the values and labels themselves included); a network is no kind a row can give.
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


def quick_fold(text):
    """:func:`registry.text.fold`, quicker for the plain ASCII most names are written in.

    For ASCII text folding is lower-casing and single spaces: no accents, no special letters,
    no format characters (a test checks both give the same key).
    """
    if text.isascii():
        return " ".join(text.lower().split())
    return fold(text)


@dataclass(slots=True)
class Side:
    """One side of a row. ``country`` is as the row gives it, perhaps a former state; the
    town is looked for there and in its successor states, and a new town goes to ``home``:
    the country today the row gives (``country_today_a``), the one successor, or, where the
    state split (Czechoslovakia), the former state itself until the import places the town
    in the successor it lies in (:class:`registry.importing.matching.Placer`)."""

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
        """(home country id, folded name): the same town, however the rows spell it."""
        return (self.home.id, self.folded)


@dataclass(slots=True)
class Row:
    """A checked row of a partnership list: its two sides and the partnership's details."""

    line: int
    a: Side
    b: Side
    kind: str
    status: str
    start: PartialDate | None
    end: PartialDate | None
    source: str
    refs: tuple = ()  # the two towns, once matched: ("pk", id) or ("new", side key)


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
        today_a, today_b = column("country_today_a"), column("country_today_b")
        place, choice, date = self.fast_place, self.fast_choice, self.fast_date
        texts = {}  # one string object for each distinct source text

        def side(values, name_at, country_at, region_at, lat_at, lon_at, today_at):
            if today_at is not None and values[today_at].strip():
                return None  # a country today: the full check reads it
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
                    latitude, longitude = fast_coordinate(lat, 90), fast_coordinate(lon, 180)
                    if latitude is None or longitude is None:
                        return None
            country, home, search_in = found
            folded = name.lower() if name.isascii() else fold(name)
            return Side(name, folded, country, home, search_in, region, latitude, longitude)

        def parse(line, values):
            a = side(values, name_a, country_a, region_a, lat_a, lon_a, today_a)
            if a is None:
                return None
            b = side(values, name_b, country_b, region_b, lat_b, lon_b, today_b)
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

    def fast_place(self, text):
        """:meth:`place` for a valid country (None otherwise), without the error."""
        text = text.strip()
        try:
            return self._places[text]
        except KeyError:
            if not text:
                return None
            place = self._places[text] = self._place(text)
            return place

    def fast_choice(self, values, at, name, spellings, default):
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

    def fast_date(self, text):
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
                if CONTROL.search(value):
                    error(name, "contains a control character (such as NUL)")
                    ok = False
        return ok

    def _side(self, record, suffix, error):
        name = self.name(record, f"municipality_{suffix}", error)
        place = self.place(record, f"country_{suffix}", error)
        if place:
            place = self.today(record, f"country_today_{suffix}", place, error)
        region = self.text(record, f"region_{suffix}", MAX_NAME, error, collapse=True)
        latitude, longitude = self.coordinates(record, f"lat_{suffix}", f"lon_{suffix}", error)
        if not name or not place or region is None or latitude is False:
            return None
        country, home, search_in = place
        return Side(name, quick_fold(name), country, home, search_in, region, latitude, longitude)

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

    def today(self, record, name, place, error):
        """``place`` (of :meth:`place`) with the country the town lies in today, as column
        ``name`` gives it: one of the successors of the former state the row names; the same
        ``place`` where the column is empty, None (with the error said) where it is wrong."""
        text = record.get(name, "").strip()
        if not text:
            return place
        country = place[0]
        today = self.resolver.resolve(text)
        if today is None:
            error(name, f"{text!r} is not a country we know")
            return None
        if not country.historical:
            if today != country:
                error(
                    name,
                    f"{text!r} is not {country.name_en}: {name} is for a town whose row names "
                    "a former state",
                )
                return None
            return place
        successors = self.resolver.today(country)
        if today not in successors:
            codes = "/".join(sorted(c.code for c in successors))
            error(name, f"{text!r} is not one of the states {country.name_en} is today ({codes})")
            return None
        return country, today, (country.pk, today.pk)

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


_COORDINATE = re.compile(r"-?(?:0|[1-9][0-9]{0,2})(?:\.[0-9]{1,5})?")


def fast_coordinate(text, limit):
    """The coordinate ``text`` as :meth:`RowParser._coordinate` gives it (as the text of the
    same value to five places, which is what the database stores), or None where the text
    is not plainly a number within ``limit`` of five places at most: that one it must read.
    """
    if not _COORDINATE.fullmatch(text) or not 0 < abs(float(text)) <= limit:
        return None  # (0 too: as a Decimal it is false, which merging duplicates reads)
    whole, _, places = text.partition(".")
    return f"{whole}.{places:0<5}"


def parse_rows(data, parser, report, required, columns, progress):
    """Parse every record of the file; return the valid rows, with the errors in ``report``.

    Streams: no list of raw records is kept, only what the rows need. A record goes through
    the parser's fast path where it has one (see :meth:`RowParser.fast_parser`); whatever that
    does not take as it is (anything with a mistake) gets the full check, with its messages.
    """
    rows = []
    append = rows.append
    lines = max(data.count(b"\n"), 1)
    records = Records(data, required, columns)
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
