"""Any public list or ranking as CSV or JSON: the same filtered rows as the page, all of them.

Each download names the day its data describes (``as_of``: today, or a ranking's ``on`` day)
in the file name and in the data (a CSV's last column). A column added later comes at the end
of its header, so that the columns before it keep their places. A CSV cell that a spreadsheet
would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return)
is neutralised with a leading single quote; numbers are written as numbers and left alone.
"""

import csv
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, StreamingHttpResponse

FORMATS = ("csv", "json")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Rows fetched at a time when a download walks a large list.
CHUNK = 2000


def neutralise(value):
    """A cell value that no spreadsheet runs as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    """A file that hands back what is written to it, for streaming with :mod:`csv`."""

    def write(self, value):
        return value


def csv_response(name, as_of, header, rows):
    """Stream ``rows`` (lists matching ``header``) as ``<name>-<as_of>.csv``, each with a
    final ``as_of`` column."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow([*header, "as_of"])
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


def download(fmt, name, as_of, header, rows, documents=None, key="results"):
    """The response for ``fmt``: CSV of ``rows``, or JSON of ``documents`` (by default the
    rows as dicts keyed by ``header``) under ``key`` with their ``count``."""
    if fmt == "csv":
        return csv_response(name, as_of, header, rows)
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
    ]


def _country(country):
    return {"code": country.code, "name": country.name} if country else None


def member_document(role, municipality, name_at_signing, country_at_signing, joined, left):
    return {
        "role": role,
        "municipality": {
            "slug": municipality.slug,
            "name": municipality.name,
            "country": _country(municipality.country),
        },
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


RANKING_HEADER = ["rank", "slug", "name", "country_code", "country", "partners", "url"]


def ranking_row(request, municipality):
    return [
        municipality.rank,
        municipality.slug,
        municipality.name,
        municipality.country.code,
        municipality.country.name,
        municipality.partners,
        _url(request, municipality),
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
    ]
