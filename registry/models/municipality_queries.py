"""The QuerySet of municipalities: lists, detail, search and every ranking.

The module of Municipality (and AlternativeName) imports this one for the manager, and the
module of Partnership imports that one for its sides: the methods that query those models
import them where they run.
"""

from django.db import models
from django.db.models import Exists, F, OuterRef, Q, Window
from django.db.models.functions import DenseRank

from registry.models.counting import ParticipationCounts, join_counts, partners_of_outer
from registry.text import search_keys


class MunicipalityQuerySet(models.QuerySet):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)

    def search(self, term):
        """Match the folded name or any alternative name; "koln", "Koeln" and "Cologne" find
        Köln."""
        from registry.models.places import AlternativeName  # see the module's docstring

        keys = search_keys(term)
        if not keys:
            return self
        names, alternatives = Q(), Q()
        for key in keys:
            names |= Q(name_folded__contains=key)
            alternatives |= Q(name_folded__contains=key)
        return self.filter(
            names
            | Exists(AlternativeName.objects.filter(alternatives, municipality=OuterRef("pk")))
        )

    def for_list(self):
        return self.select_related("country", "region")

    def ranking_columns(self):
        """Only what a ranking shows (name, slug, country) and its download adds (the
        Wikidata and GeoNames ids)."""
        return (
            self.select_related(None)
            .select_related("country")
            .only(
                "name",
                "slug",
                "wikidata_id",
                "geonames_id",
                "country__code",
                "country__name_en",
                "country__name_de",
            )
        )

    def ranked(self):
        return self.for_list().filter(partner_count__gt=0).order_by("-partner_count", "name")

    def ranked_on(self, day):
        """Municipalities with their count of partnerships in force at the end of ``day``."""
        from registry.models.partnerships import Partnership  # see the module's docstring

        return self.counting(Partnership.objects.in_force_on(day))

    def counting(self, partnerships, domestic="include"):
        """Those taking part in any of ``partnerships``, with ``partners_then``: in how many;
        ``rank``, its dense rank (24, 20, 20, 18 → 1, 2, 2, 3); and ``list_total``, how many
        are counted. Filter before counting: the ranks and the total are those among the
        municipalities this queryset holds.

        Set-based (:class:`~registry.models.counting.ParticipationCounts`): the participations
        in those partnerships are grouped by municipality alone, ranked and counted in that
        narrow query, and only its groups are joined with the municipalities. A partnership
        counts once (a joint partner is one participation, a side that is also listed as a
        member another one is not). ``domestic`` keeps only partners in the municipality's own
        country (``only``), only those elsewhere (``exclude``), or all (``include``), by today's
        countries; the partner of a joint partner is the other side's main partner.
        """
        within = self.values("pk") if self.query.has_filters() else None
        counts = ParticipationCounts(partnerships, domestic, within)
        joined = join_counts(
            self.for_list(), counts, partners_then="partners", rank="rank", list_total="total"
        )
        return joined.order_by("-partners_then", "name")

    def for_detail(self):
        return self.select_related(
            "country", "region", "parent__country", "successor__country"
        ).prefetch_related(
            "alternative_names",
            "sources",
            models.Prefetch("parts", self.model.objects.select_related("country")),
            models.Prefetch("predecessors", self.model.objects.select_related("country")),
        )

    def with_partners(self, has_partners=True):
        """Those with (or without) a partner by the counting rule today."""
        if has_partners:
            return self.filter(partner_count__gt=0)
        return self.filter(partner_count=0)

    def in_region(self, region):
        """In this first-level region (a region or its primary key)."""
        return self.filter(region=region)

    def annotate_partners(self, field="partner_count"):
        """Annotate ``partners``: the count in ``field``."""
        return self.annotate(partners=F(field))

    def with_rank(self):
        """Annotate the dense ``rank`` of ``partners``: equal counts share a rank and the next
        count takes the next number (24, 20, 20, 18 → 1, 2, 2, 3). A window over every row:
        what a page deep in the stored ranking needs is :func:`dense_ranks` instead."""
        return self.annotate(rank=Window(DenseRank(), order_by=F("partners").desc()))

    def dense_ranks(self, rows, first_page):
        """Give ``rows``, a page of this ranking (``partners`` annotated, the most first), their
        dense ``rank``: the number of distinct counts above the page's first (none on the
        first page; else one query over the index of the counts), then one more at each
        lower count. A window would rank every row before the page."""
        if not rows:
            return rows
        rank = 0
        if not first_page:
            rank = (
                self.filter(partners__gt=rows[0].partners)
                .order_by()
                .values("partners")
                .distinct()
                .count()
            )
        previous = None
        for row in rows:
            if row.partners != previous:
                rank, previous = rank + 1, row.partners
            row.rank = rank
        return rows

    def ranked_by(self, *, day=None, kind=None, status=None, domestic="include"):
        """Municipalities by a count of partners under other rules than the stored one.

        ``kind`` and ``status`` are a partnership's kind and status (``None``: any bilateral
        kind, any status); ``day`` counts the partnerships of that kind and status on that
        day from the dated records, as ``Partnership.objects.held_on()`` does (``None``: today,
        by the current kind and status). ``domestic`` is ``include`` (every partner),
        ``exclude`` (partners in another country only) or ``only`` (partners in the same
        country only), by today's countries. Annotates ``partners_then``.
        """
        from registry.models.partnerships import Partnership  # see the module's docstring

        if day is None:
            partnerships = Partnership.objects.bilateral()
            if kind:
                partnerships = partnerships.filter(kind=kind)
            if status:
                partnerships = partnerships.filter(status=status)
        else:
            partnerships = Partnership.objects.bilateral().held_on(day, kind=kind, status=status)
        return self.counting(partnerships, domestic)

    def recount_partners(self):
        """Store the count of partnerships in force for every municipality in this queryset.

        The counting rule: official twinnings with status active, each partnership once
        (a joint partner such as Corinto/El Realejo counts once for Köln), domestic partners
        included. Runs as one UPDATE, so callers keep it inside their transaction.
        """
        from registry.models.partnerships import Partnership  # see the module's docstring

        return self.update(partner_count=partners_of_outer(Partnership.objects.counted()))
