"""Lists of municipalities, with or without partners: ``import_municipalities``.

Required columns ``name``, ``country``; optional ``kind`` (city, the default, municipality,
borough, county, region, in the spellings of :data:`TOWN_KIND_SPELLINGS`), ``region``,
``lat``, ``lon``, ``population``, ``wikidata_id``, ``geonames_id``, ``source``. A town the
registry has already (by any of its names in the same country and, where the row gives one,
in the same region or in none) is not created again; a town listed twice (same name, country
and region) is one town, with the details of both. GeoNames and Wikidata ids must be new.
A town whose ``country`` is a former state goes to the successor it lies in today
(:class:`registry.importing.matching.Placer`), or is refused.
"""

from dataclasses import dataclass

from registry.importing.matching import Matcher, Placer
from registry.importing.reading import RowError
from registry.importing.rows import MAX_NAME, RowParser, Side, fast_coordinate, quick_fold
from registry.importing.runner import Import, Report
from registry.importing.writing import analyze, insert, write_sources, write_towns
from registry.models import Municipality
from registry.text import fold

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
    """The :class:`Report` of a list of municipalities."""

    def summary(self):
        return {
            "rows read": self.rows_read,
            "rows rejected": self.rows_rejected,
            "municipalities created": self.municipalities_created,
            "duplicates merged": self.duplicates_merged,
            "already in the registry": self.already_present,
        }


class TownParser(RowParser):
    """Checks the rows of a list of municipalities: each is a :class:`Side`, the town."""

    def fast_parser(self, index):
        """:meth:`RowParser.fast_parser` for towns: the Side of a right record, else None."""
        column = index.get
        name_at, country_at, region_at = column("name"), column("country"), column("region")
        lat_at, lon_at, population_at = column("lat"), column("lon"), column("population")
        geonames_at, wikidata_at, source_at = (
            column(name) for name in ("geonames_id", "wikidata_id", "source")
        )
        kind_at = column("kind")
        place, choice = self.fast_place, self.fast_choice
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
                latitude, longitude = fast_coordinate(lat, 90), fast_coordinate(lon, 180)
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
            quick_fold(name),
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
        if not text.isdecimal():  # what int() reads ("²" is a digit, but no number)
            error(name, f"{text!r} is not a whole number of 0 or more")
            return None
        if int(text) > LARGEST:
            error(name, f"{text} is too large")
            return None
        return int(text)


class TownImport(Import):
    """:class:`Import` of a list of municipalities."""

    required = TOWN_REQUIRED
    columns = TOWN_COLUMNS
    report_class = TownReport
    parser_class = TownParser

    def plan(self, rows, report):
        """The new towns, by (country id, folded name, folded region)."""
        new = _new_towns(rows, report)
        report.municipalities_created = len(new)
        return new

    def creates(self, plan):
        return bool(plan)

    def run_counts(self, report):
        return {"municipalities_created": report.municipalities_created}

    def write(self, plan, run):
        towns = write_towns(run, plan.values())
        sources = write_sources(town.source for town in plan.values())
        insert(
            Municipality.sources.through,
            ["municipality", "source"],
            ((town.pk, sources[town.source]) for town in plan.values() if town.source),
            written={Municipality: towns},
        )
        analyze(Municipality, needed=False)


def import_municipalities(data, **options):
    """Import the list of municipalities ``data`` (the CSV file's bytes); return its Report.

    The options, and when it writes, are those of :class:`registry.importing.runner.Import`.
    """
    return TownImport(data, **options).run()


def _new_towns(towns, report):
    """The towns of ``towns`` the registry does not have, merged, by (country id, folded
    name, folded region); what is wrong with the others goes to ``report``."""
    matcher = Matcher({pk for town in towns for pk in town.search_in}, slugs=False)
    placer = Placer(towns)
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
        if town.home.historical:
            home, problem = placer.place(town, "country")
            if problem:
                report.errors.append(RowError(town.line, "name", problem))
                continue
            town.home = home
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
