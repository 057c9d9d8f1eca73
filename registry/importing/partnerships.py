"""Partnership lists: ``import_partnerships``.

The file is UTF-8 CSV with a header row. Required columns: ``municipality_a``, ``country_a``,
``municipality_b``, ``country_b``; optional: ``kind``, ``start``, ``end``, ``status``,
``region_a``, ``region_b``, ``lat_a``, ``lon_a``, ``lat_b``, ``lon_b``, ``source``,
``country_today_a``, ``country_today_b`` (where ``country_a`` names a former state that split:
the successor the town lies in today; without it the import places the town itself, see
:class:`registry.importing.matching.Placer`). Unknown columns are ignored. Each row is
checked by :class:`registry.importing.rows.RowParser`, its towns are matched or planned by
:class:`registry.importing.matching.Plan`, and the new towns get their partner counts as
they are written; only the existing towns that gain a partnership in force are recounted, in
one ``UPDATE``.
"""

from collections import Counter

from django.db.models import Q

from registry import counting
from registry.importing.matching import Matcher, Placer, Plan
from registry.importing.rows import RowParser
from registry.importing.runner import Import
from registry.importing.writing import (
    analyze,
    free_slug,
    insert,
    reserve_ids,
    wait_for_recounts,
    write_sources,
    write_towns,
)
from registry.models import Municipality, Partnership

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
    "country_today_a",
    "country_today_b",
]
COLUMNS = REQUIRED + OPTIONAL


class PartnershipImport(Import):
    """:class:`Import` of a partnership list, with ``geocode``: the towns it creates without
    coordinates get them, with population and region, from GeoNames data."""

    required = REQUIRED
    columns = COLUMNS
    parser_class = RowParser

    def __init__(self, data, *, geocode=False, **options):
        super().__init__(data, **options)
        self.geocode = geocode

    def plan(self, rows, report):
        countries = {pk for row in rows for side in (row.a, row.b) for pk in side.search_in}
        plan = Plan(
            Matcher(countries), report, Placer(side for row in rows for side in (row.a, row.b))
        )
        for row in rows:
            plan.add(row)
        plan.count_existing()
        if self.geocode:
            report.municipalities_geocoded = plan.geocode()
        report.municipalities_created = len(plan.new_towns)
        report.municipalities_matched = len(plan.matched)
        report.partnerships_created = len(plan.new_pairs)
        return plan

    def creates(self, plan):
        return bool(plan.new_towns or plan.new_pairs)

    def run_counts(self, report):
        return {
            "municipalities_created": report.municipalities_created,
            "municipalities_matched": report.municipalities_matched,
            "partnerships_created": report.partnerships_created,
        }

    def write(self, plan, run):
        _write_partnerships(plan, run)


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
    """Import the partnership list ``data`` (the CSV file's bytes); return its Report.

    As :class:`registry.importing.runner.Import` runs every import: nothing is written if a
    row is bad (unless ``skip_invalid``) or on a ``dry_run``, nor where nothing is new. With
    ``geocode``, the towns it creates without coordinates get them, with population and
    region, from GeoNames data.
    """
    return PartnershipImport(
        data,
        file_name=file_name,
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        geocode=geocode,
        user=user,
        progress=progress,
        waiting=waiting,
    ).run()


def _write_partnerships(plan, run):
    """Write the new towns and partnerships of ``plan`` (a :class:`Plan`), with their
    sources; recount the existing towns that gain a partnership in force."""
    counts = Counter()
    for (kind, refs), row in plan.new_pairs.items():
        if counting.counts(kind, row.status):
            counts.update(ref[1] for ref in refs if ref[0] == "new")
    towns = write_towns(run, plan.new_towns.values(), counts)
    slug_of = plan.matcher.slugs
    new_towns = plan.new_towns

    def town(ref):
        if ref[0] == "pk":
            return ref[1], slug_of[ref[1]]
        side = new_towns[ref[1]]
        return side.pk, side.slug

    sources = write_sources(row.source for row in plan.new_pairs.values())
    slugs = set(Partnership.objects.order_by().values_list("slug", flat=True))
    ids = reserve_ids(Partnership, len(plan.new_pairs))
    links = []

    def partnerships():
        run_pk = run.pk
        for pk, ((kind, _refs), row) in zip(ids, plan.new_pairs.items(), strict=True):
            first, first_slug = town(row.refs[0])
            second, second_slug = town(row.refs[1])
            if row.source:
                links.append((pk, sources[row.source]))
            slug = f"{first_slug}--{second_slug}"[:180]
            if slug in slugs:
                slug = free_slug(slug, slugs, suffix=kind)
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

    insert(
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
    insert(through, ["partnership", "source"], links, written={Partnership: ids})
    analyze(Municipality, Partnership, needed=bool(plan.matched))
    if plan.matched:
        # The existing towns that gain a partnership in force: one UPDATE, by the rule,
        # after any other transaction's recount (registry.signals.recount).
        wait_for_recounts()
        counted = Partnership.objects.counted().filter(import_run=run)
        Municipality.objects.filter(
            Q(pk__in=counted.values("first")) | Q(pk__in=counted.values("second"))
        ).exclude(import_run=run).recount_partners()
