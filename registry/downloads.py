"""Any public list or ranking as CSV, Excel (xlsx) or JSON: the same filtered rows as the
page, all of them.

Each download names the day its data describes (``as_of``: today, or a ranking's ``on`` day)
in the file name and in the data (a CSV's or a sheet's last column). A column added later comes
at the end of its header, so that the columns before it keep their places. A CSV cell that a
spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return) is neutralised with a leading single quote; numbers are written as numbers and
left alone. A CSV with semicolons (``sep=;``, for a spreadsheet in German) begins with a UTF-8
byte order mark, so that the spreadsheet reads it as UTF-8; its numbers are as in any CSV.

An xlsx sheet holds the CSV's rows and columns: numbers as numbers, true and false as such,
dates (partial ones such as ``1988`` among them) as ISO text, as in the CSV; an empty CSV cell
is an empty cell; and every text is a text cell, which no spreadsheet runs as a formula, so it
needs no quote: ``=1+1`` arrives as the text ``=1+1``. What XML cannot hold (control
characters other than tab and line breaks) becomes U+FFFD, and a carriage return reads as a
line break, as XML reads it. It is written row by row to a temporary file (openpyxl's
write-only mode), then sent from there: the memory it takes does not grow with the list.
"""

import csv
import json
import re
import tempfile
from typing import NamedTuple

from django.core.serializers.json import DjangoJSONEncoder
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from registry import counting

FORMATS = ("csv", "json", "xlsx")
# The separators a CSV download may have (``sep=``): the comma, or the semicolon.
SEPARATORS = (",", ";")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Rows fetched at a time when a download walks a large list.
CHUNK = 2000
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What XML 1.0, and so an xlsx file, cannot hold: control characters other than tab and line
# breaks, and the two non-characters U+FFFE and U+FFFF. Each becomes U+FFFD.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Text a spreadsheet cell would take for a formula or an error value unless told it is text.
_XLSX_ERRORS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A")


class Format(NamedTuple):
    """A download asked for: its ``kind`` (one of :data:`FORMATS`) and, for CSV, the
    ``separator`` between cells."""

    kind: str
    separator: str = ","


def neutralise(value):
    """A cell value that no spreadsheet runs as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    """A file that hands back what is written to it, for streaming with :mod:`csv`."""

    def write(self, value):
        return value


def csv_response(name, as_of, header, rows, separator=","):
    """Stream ``rows`` (lists matching ``header``) as ``<name>-<as_of>.csv``, each with a
    final ``as_of`` column; with the ``separator`` ``;``, after a byte order mark."""
    writer = csv.writer(_Echo(), delimiter=separator)

    def lines():
        start = "\ufeff" if separator == ";" else ""
        yield start + writer.writerow([*header, "as_of"])
        for row in rows:
            yield writer.writerow([neutralise(value) for value in row] + [as_of.isoformat()])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{as_of.isoformat()}.csv"'
    return response


def json_response(name, as_of, data):
    """``data`` (a dict) as ``<name>-<as_of>.json``, with ``as_of`` first."""
    document = {"as_of": as_of.isoformat(), **data}
    response = HttpResponse(
        json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=1),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}-{as_of.isoformat()}.json"'
    return response


def _xlsx_cell(sheet, value):
    """``value`` for a cell of ``sheet``: text as a text cell, whatever it begins with; no
    text as an empty cell (which costs nothing to write)."""
    if not isinstance(value, str):
        return value
    if not value:
        return None
    value = _NOT_IN_XML.sub("\ufffd", value)
    if value.startswith("=") or value in _XLSX_ERRORS:
        # openpyxl takes such text for a formula or an error value: say it is text.
        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"
        return cell
    return value


def xlsx_response(name, as_of, header, rows):
    """``rows`` (lists matching ``header``) as the one sheet of ``<name>-<as_of>.xlsx``, each
    with a final ``as_of`` column, the header row frozen."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(name[:31])  # the longest title a sheet may have
    sheet.freeze_panes = "A2"
    sheet.append([*header, "as_of"])
    day = as_of.isoformat()
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row] + [day])
    # Deleted when closed: FileResponse closes it once it has been sent.
    file = tempfile.TemporaryFile()
    workbook.save(file)
    file.seek(0)
    return FileResponse(
        file,
        as_attachment=True,
        filename=f"{name}-{day}.xlsx",
        content_type=XLSX_CONTENT_TYPE,
    )


def table_response(fmt, name, as_of, header, rows):
    """``rows`` (lists matching ``header``) as the CSV or the xlsx ``fmt`` asks for."""
    if fmt.kind == "xlsx":
        return xlsx_response(name, as_of, header, rows)
    return csv_response(name, as_of, header, rows, fmt.separator)


def download(fmt, name, as_of, header, rows, documents=None, key="results"):
    """The response for ``fmt`` (a :class:`Format`): CSV or xlsx of ``rows``, or JSON of
    ``documents`` (by default the rows as dicts keyed by ``header``) under ``key`` with their
    ``count``."""
    if fmt.kind in ("csv", "xlsx"):
        return table_response(fmt, name, as_of, header, rows)
    if documents is None:
        documents = (dict(zip(header, row, strict=True)) for row in rows)
    documents = list(documents)
    return json_response(name, as_of, {"count": len(documents), key: documents})


def iterate(queryset):
    """Walk a large queryset in chunks, its prefetches included."""
    return queryset.iterator(chunk_size=CHUNK)


# Rows and documents


def date(value):
    """A partial date with its precision, as JSON: ``{"date": "1980-05-22", "precision":
    "day"}``; ``None`` for no date."""
    if not value:
        return None
    return {"date": str(value), "precision": str(value.precision)}


def _text(value):
    return "" if value is None else str(value)


def _number(value):
    return None if value is None else float(value)


def _url(request, obj):
    return request.build_absolute_uri(obj.get_absolute_url())


def _ids(municipality):
    """A town's Wikidata and GeoNames ids as cells: ``""`` and ``None`` where it has none."""
    return [municipality.wikidata_id, municipality.geonames_id]


MUNICIPALITY_HEADER = [
    "slug",
    "name",
    "kind",
    "country_code",
    "country",
    "region_code",
    "region",
    "latitude",
    "longitude",
    "population",
    "partners",
    "seeking_partner",
    "url",
    # Added later, so at the end (see the module's docstring).
    "wikidata_id",
    "geonames_id",
]


def municipality_row(request, municipality):
    region = municipality.region
    return [
        municipality.slug,
        municipality.name,
        municipality.kind,
        municipality.country.code,
        municipality.country.name,
        region.code if region else "",
        region.name if region else "",
        _number(municipality.latitude),
        _number(municipality.longitude),
        municipality.population,
        municipality.partner_count,
        municipality.seeking_partner,
        _url(request, municipality),
        *_ids(municipality),
    ]


PARTNERSHIP_HEADER = [
    "id",
    "slug",
    "name",
    "kind",
    "status",
    "start",
    "start_precision",
    "end",
    "end_precision",
    "first",
    "first_slug",
    "first_country",
    "first_name_at_signing",
    "first_country_at_signing",
    "second",
    "second_slug",
    "second_country",
    "second_name_at_signing",
    "second_country_at_signing",
    "joint_partners",
    "sources",
    "url",
    # Added later, so at the end (see the module's docstring).
    "official_since",
    "official_since_precision",
    "first_wikidata_id",
    "first_geonames_id",
    "second_wikidata_id",
    "second_geonames_id",
]


def _side(partnership, side):
    town = getattr(partnership, side)
    at_signing = getattr(partnership, f"{side}_country_at_signing")
    return [
        town.name,
        town.slug,
        town.country.code,
        getattr(partnership, f"{side}_name_at_signing"),
        at_signing.code if at_signing else "",
    ]


def partnership_row(request, partnership):
    """One CSV row of a bilateral partnership (``for_download()``, ``with_official_since()``)."""
    joint = "; ".join(
        f"{m.municipality.name} ({m.municipality.country.code}, {m.get_side_display()})"
        for m in partnership.memberships.all()
    )
    return [
        partnership.pk,
        partnership.slug,
        str(partnership),
        partnership.kind,
        partnership.status,
        _text(partnership.start),
        _text(partnership.start and partnership.start.precision),
        _text(partnership.end),
        _text(partnership.end and partnership.end.precision),
        *_side(partnership, "first"),
        *_side(partnership, "second"),
        joint,
        "; ".join(source.key for source in partnership.sources.all()),
        _url(request, partnership),
        _text(partnership.official_since),
        _text(partnership.official_since and partnership.official_since.precision),
        *_ids(partnership.first),
        *_ids(partnership.second),
    ]


def _country(country):
    return {"code": country.code, "name": country.name} if country else None


def _town(municipality):
    """A town as a partnership's, a network's or a town's page names it in JSON."""
    return {
        "slug": municipality.slug,
        "name": municipality.name,
        "country": _country(municipality.country),
        "wikidata_id": municipality.wikidata_id or None,
        "geonames_id": municipality.geonames_id,
    }


def member_document(role, municipality, name_at_signing, country_at_signing, joined, left):
    return {
        "role": role,
        "municipality": _town(municipality),
        "name_at_signing": name_at_signing or None,
        "country_at_signing": _country(country_at_signing),
        "joined": date(joined),
        "left": date(left),
    }


def members(partnership):
    """The sides and joint partners of a partnership, or the members of a network."""
    documents = []
    if not partnership.is_network:
        for side in ("first", "second"):
            documents.append(
                member_document(
                    side,
                    getattr(partnership, side),
                    getattr(partnership, f"{side}_name_at_signing"),
                    getattr(partnership, f"{side}_country_at_signing"),
                    None,
                    None,
                )
            )
    for membership in partnership.memberships.all():
        documents.append(
            member_document(
                f"joint_{membership.side}" if membership.side else "member",
                membership.municipality,
                membership.name_at_signing,
                membership.country_at_signing,
                membership.joined,
                membership.left,
            )
        )
    return documents


def source_document(source):
    return {
        "key": source.key,
        "citation": source.citation,
        "url": source.url or None,
        "publisher": source.publisher or None,
        "published": date(source.published),
    }


def partnership_document(request, partnership):
    """A partnership (``with_official_since()``) as JSON: its members, kind, dates with
    precision (the start of the link, and since when it is an official twinning), status and
    sources."""
    return {
        "id": partnership.pk,
        "slug": partnership.slug,
        "name": str(partnership),
        "url": _url(request, partnership),
        "kind": partnership.kind,
        "status": partnership.status,
        "start": date(partnership.start),
        "official_since": date(partnership.official_since),
        "end": date(partnership.end),
        "members": members(partnership),
        "sources": [source_document(source) for source in partnership.sources.all()],
    }


def _keys(sources):
    return [source.key for source in sources]


def partnership_detail_document(request, partnership):
    """A partnership (``for_detail()``) with its histories, themes and events as well."""
    document = partnership_document(request, partnership)
    document.update(
        {
            "description": partnership.description or None,
            "kind_history": [
                {
                    "kind": change.kind,
                    "date": date(change.date),
                    "recognised_by": change.recognised_by.slug if change.recognised_by else None,
                    "note": change.note or None,
                    "sources": _keys(change.sources.all()),
                }
                for change in partnership.kind_changes.all()
            ],
            "status_history": [
                {
                    "status": change.status,
                    "date": date(change.date),
                    "note": change.note or None,
                    "sources": _keys(change.sources.all()),
                }
                for change in partnership.status_changes.all()
            ],
            "themes": [theme.slug for theme in partnership.themes.all()],
            "events": [
                {
                    "kind": event.kind,
                    "award": event.award or None,
                    "title": event.title,
                    "date": date(event.date),
                    "place": event.place or None,
                    "sources": _keys(event.sources.all()),
                }
                for event in partnership.events.all()
            ],
        }
    )
    return document


def _event_document(event, subject=True):
    """An event as a town's or a network's page shows it (its sources are on its
    partnership's page); with ``subject``, what it is about: a partnership or a town."""
    document = {
        "kind": event.kind,
        "award": event.award or None,
        "title": event.title,
        "date": date(event.date),
        "place": event.place or None,
        "participants": event.participants or None,
        "description": event.description or None,
    }
    if subject:
        document["partnership"] = (
            {"id": event.partnership_id, "name": str(event.partnership)}
            if event.partnership_id
            else None
        )
        document["municipality"] = event.municipality.slug if event.municipality_id else None
    return document


def municipality_detail_document(request, municipality, partners, networks, events, names):
    """A town (``for_detail()``) as its page shows it: its place, ids, other ``names``, its
    ``partners`` (the page's rows: each partnership, whether it ``counts`` by the counting
    rule, so that those that do add up to ``partner_count``, and the towns on its other side),
    ``networks`` (with the town's membership) and ``events``."""
    region = municipality.region
    return {
        **_town(municipality),
        "url": _url(request, municipality),
        "kind": municipality.kind,
        "region": {"code": region.code or None, "name": region.name} if region else None,
        "latitude": _number(municipality.latitude),
        "longitude": _number(municipality.longitude),
        "population": municipality.population,
        "partner_count": municipality.partner_count,
        "seeking_partner": municipality.seeking_partner,
        "seeking_description": municipality.seeking_description or None,
        "website": municipality.website or None,
        "part_of": _town(municipality.parent) if municipality.parent else None,
        "parts": [_town(part) for part in municipality.parts.all()],
        "merged_into": _town(municipality.successor) if municipality.successor else None,
        "merged": date(municipality.merged),
        "merged_from": [_town(town) for town in municipality.predecessors.all()],
        "alternative_names": [
            {
                "name": name.name,
                "kind": name.kind,
                "language": name.language or None,
                "used_from": name.used_from,
                "used_until": name.used_until,
            }
            for name in names
        ],
        "partnerships": [
            {
                "id": row["partnership"].pk,
                "slug": row["partnership"].slug,
                "url": _url(request, row["partnership"]),
                "kind": row["partnership"].kind,
                "status": row["partnership"].status,
                "counts": counting.counts(row["partnership"].kind, row["partnership"].status),
                "start": date(row["partnership"].start),
                "official_since": date(row["partnership"].official_since),
                "end": date(row["partnership"].end),
                "partners": [_town(other) for other in row["others"]],
                "distance_km": row["distance"],
            }
            for row in partners
        ],
        "networks": [
            {
                "slug": row["network"].slug,
                "name": row["network"].name,
                "url": _url(request, row["network"]),
                "joined": date(row["membership"].joined),
                "left": date(row["membership"].left),
            }
            for row in networks
        ],
        "events": [_event_document(event) for event in events],
        "sources": [source_document(source) for source in municipality.sources.all()],
    }


def network_detail_document(request, network):
    """A network (``for_network_detail()``) as its page shows it: its members with their
    dates, events and sources."""
    return {
        "slug": network.slug,
        "name": network.name,
        "url": _url(request, network),
        "kind": network.kind,
        "status": network.status,
        "start": date(network.start),
        "end": date(network.end),
        "description": network.description or None,
        "members": members(network),
        "events": [_event_document(event, subject=False) for event in network.events.all()],
        "sources": [source_document(source) for source in network.sources.all()],
    }


NETWORK_HEADER = ["slug", "name", "members", "start", "start_precision", "status", "url"]


def network_row(request, network):
    return [
        network.slug,
        network.name,
        network.member_count,
        _text(network.start),
        _text(network.start and network.start.precision),
        network.status,
        _url(request, network),
    ]


RANKING_HEADER = [
    "rank",
    "slug",
    "name",
    "country_code",
    "country",
    "partners",
    "url",
    # Added later, so at the end (see the module's docstring).
    "wikidata_id",
    "geonames_id",
]


def ranking_row(request, municipality):
    return [
        municipality.rank,
        municipality.slug,
        municipality.name,
        municipality.country.code,
        municipality.country.name,
        municipality.partners,
        _url(request, municipality),
        *_ids(municipality),
    ]


COUNTRY_HEADER = ["rank", "code", "country", "partnerships"]


def country_row(country):
    return [country.rank, country.code, country.name, country.partnerships]


PAIR_HEADER = ["country_code", "country", "other_country_code", "other_country", "partnerships"]


def pair_row(pair):
    return [
        pair["low"].code,
        pair["low"].name,
        pair["high"].code,
        pair["high"].name,
        pair["count"],
    ]


AWARD_HEADER = [
    "date",
    "level",
    "title",
    "laureate",
    "laureate_url",
    "country_at_the_time_code",
    "country_at_the_time",
    # Added later, so at the end (see the module's docstring): the laureate town's ids, empty
    # where a partnership is the laureate.
    "laureate_wikidata_id",
    "laureate_geonames_id",
]


def award_row(request, event):
    laureate = event.partnership or event.municipality
    country = event.country_at_time
    return [
        str(event.date),
        event.award,
        event.title,
        str(laureate),
        _url(request, laureate),
        country.code if country else "",
        country.name if country else "",
        *(_ids(event.municipality) if event.partnership is None else ["", None]),
    ]
