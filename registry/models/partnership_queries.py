"""The QuerySet of partnerships and networks: what each page lists, filters and counts.

The module of Partnership imports this one for the manager, and the modules of Membership, the
dated changes and Event import that one: the methods that query those models import them where
they run.
"""

import re

from django.db import models
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Substr

from registry import counting
from registry.models.counting import held_then
from registry.models.places import Municipality
from registry.text import search_keys

# Between the two names of a partnership as shown ("Köln – Turku"): an en or em dash, or a
# hyphen with space around it (a hyphen inside a name, Poix-du-Nord, is part of it).
SHOWN_NAME_DASH = re.compile(r"\s+-\s+|\s*[–—]\s*")


def _side_in(side, municipalities):
    """The side ``side`` (first or second), or a joint partner on it, is one of
    ``municipalities`` (a queryset of primary keys)."""
    from registry.models.partnerships import Membership  # see the module's docstring

    return Q(**{f"{side}__in": municipalities}) | Exists(
        Membership.objects.filter(
            partnership=OuterRef("pk"), side=side, municipality__in=municipalities
        )
    )


class PartnershipQuerySet(models.QuerySet):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)

    def counted(self):
        """The partnerships the ranking counts today: official twinnings in force
        (``registry.counting``)."""
        return self.filter(counting.counted())

    def in_force_on(self, day):
        """Official twinnings in force at the end of ``day`` (a date), from the dated records.

        The kind on that day is the latest recorded change of kind up to it (with no recorded
        change, the current kind); where sources disagree, the earliest claim of a kind
        counts from its date. The status is the latest recorded change up to that day (with
        no recorded change, the current status; before the first, active). A partnership
        counts once it has started and until it ends; one without a start date counts today
        but in no past year.
        """
        return self.held_on(day, kind=counting.KIND, status=counting.STATUS)

    def held_on(self, day, *, kind=None, status=None):
        """Partnerships of ``kind`` with ``status`` at the end of ``day``, as
        :meth:`in_force_on` reads the dated records (``None``: any kind, any status).

        They must have started by then; unless ``status`` is ``ended`` or any, they must not
        have ended by then either.

        Set-based, so that it serves a ranking of every municipality: each condition is an
        ``IN`` over the dated changes (the latest one of each partnership up to ``day`` is
        picked by a window over the index on partnership and date), never a lookup per
        partnership.
        """
        from registry.models.changes import KindChange, StatusChange  # see the module's docstring

        day = day.isoformat()
        held = self.filter(start__lte=day)
        if kind:
            held = held.filter(held_then(KindChange, "kind", kind, day, default=None))
        if status:
            default = self.model.Status.ACTIVE.value
            held = held.filter(held_then(StatusChange, "status", status, day, default=default))
        if status not in (None, self.model.Status.ENDED):
            held = held.filter(Q(end__isnull=True) | Q(end__gt=day))
        return held

    def bilateral(self):
        return self.exclude(kind=self.model.Kind.NETWORK)

    def networks(self):
        return self.filter(kind=self.model.Kind.NETWORK)

    def involving(self, municipality):
        """The partnerships and networks ``municipality`` is a side or member of.

        One indexed lookup each for the first side, the second side and the memberships, joined
        by ``UNION ALL``: an ``OR`` of the three makes PostgreSQL scan every partnership (0.2 s
        for a town at world scale; 0.01 s so)."""
        from registry.models.partnerships import Membership  # see the module's docstring

        ids = (
            self.model.objects.filter(first=municipality)
            .values("pk")
            .union(
                self.model.objects.filter(second=municipality).values("pk"),
                Membership.objects.filter(municipality=municipality).values("partnership_id"),
                all=True,
            )
        )
        return self.filter(pk__in=ids)

    def search(self, term):
        """Match the partnership's name or any name of a side or member, folded; or its shown
        name, two names with a dash between them ("Köln – Turku", "Köln - Turku", "Turku –
        Köln", "Cologne – Turku"): one side (or a joint partner on it) by the first name,
        the other by the second, either way round."""
        from registry.models.partnerships import Membership  # see the module's docstring

        if not search_keys(term):
            return self
        names = [name for name in SHOWN_NAME_DASH.split(term) if search_keys(name)]
        if len(names) == 2:
            one, other = (Municipality.objects.search(name).values("pk") for name in names)
            return self.filter(
                Q(name__icontains=term)
                | (_side_in("first", one) & _side_in("second", other))
                | (_side_in("first", other) & _side_in("second", one))
            )
        matching = Municipality.objects.search(names[0] if len(names) == 1 else term)
        matching = matching.values("pk")
        return self.filter(
            Q(name__icontains=term)
            | Q(first__in=matching)
            | Q(second__in=matching)
            | Exists(
                Membership.objects.filter(partnership=OuterRef("pk"), municipality__in=matching)
            )
        )

    def search_networks(self, term):
        """Networks by their name or any of their other names ("Neue Hanse" finds the
        Städtebund DIE HANSE), ignoring case."""
        if not search_keys(term):
            return self
        term = " ".join(term.split())
        return self.filter(Q(name__icontains=term) | Q(other_names__icontains=term))

    def for_list(self):
        return self.select_related("first__country", "second__country")

    def for_download(self):
        """As listed, with the joint partners and sources a download carries."""
        from registry.models.partnerships import Membership  # see the module's docstring

        return (
            self.for_list()
            .select_related("first_country_at_signing", "second_country_at_signing")
            .prefetch_related(
                models.Prefetch(
                    "memberships",
                    Membership.objects.select_related(
                        "municipality__country", "country_at_signing"
                    ).order_by(
                        "side", F("joined").asc(nulls_last=True), "municipality__name_folded"
                    ),
                ),
                "sources",
            )
        )

    def for_detail(self):
        # See the module's docstring.
        from registry.models.changes import KindChange, StatusChange
        from registry.models.events import Event
        from registry.models.partnerships import Membership

        return self.select_related(
            "first__country",
            "second__country",
            "first_country_at_signing",
            "second_country_at_signing",
            "continues__first",
            "continues__second",
        ).prefetch_related(
            models.Prefetch(
                "memberships",
                Membership.objects.select_related("municipality__country", "country_at_signing")
                .prefetch_related("sources")
                .order_by("side", F("joined").asc(nulls_last=True), "municipality__name_folded"),
            ),
            models.Prefetch(
                "kind_changes",
                KindChange.objects.select_related("recognised_by")
                .prefetch_related("sources")
                .order_by("date", "pk"),
            ),
            models.Prefetch(
                "status_changes",
                StatusChange.objects.prefetch_related("sources").order_by("date", "pk"),
            ),
            models.Prefetch(
                "events",
                Event.objects.select_related("municipality", "country_at_time").prefetch_related(
                    "sources"
                ),
            ),
            models.Prefetch("continued_by", self.model.objects.select_related("first", "second")),
            "sources",
            "themes",
            "associations",
        )

    def for_partners(self):
        """The partnerships of a municipality's page, with their sides and joint partners,
        oldest first."""
        from registry.models.partnerships import Membership  # see the module's docstring

        return (
            self.for_list()
            .prefetch_related(
                models.Prefetch(
                    "memberships",
                    Membership.objects.select_related("municipality__country").order_by(
                        "municipality__name_folded", "pk"
                    ),
                )
            )
            .order_by(F("start").asc(nulls_last=True), "slug")
        )

    def for_network_detail(self):
        # See the module's docstring.
        from registry.models.events import Event
        from registry.models.partnerships import Membership

        return self.networks().prefetch_related(
            models.Prefetch(
                "memberships",
                Membership.objects.select_related(
                    "municipality__country", "country_at_signing"
                ).order_by(F("joined").asc(nulls_last=True), "municipality__name_folded", "pk"),
            ),
            models.Prefetch(
                "events", Event.objects.select_related("municipality", "country_at_time")
            ),
            "sources",
        )

    def with_official_since(self):
        """Annotate ``official_since``: since when an official twinning has been one (a
        :class:`~registry.dates.PartialDate`), ``None`` for any other kind.

        It is the first of the recorded changes to ``official`` that no change to another kind
        follows (of conflicting claims, the earliest counts, as for :meth:`in_force_on`), and
        never before the start: Keighley–Poix-du-Nord, linked since 1920, is official since
        1986; with no such change, an official twinning is one since its start. One subquery
        per row on the index of the changes by partnership and date, in the same query."""
        from registry.models.changes import KindChange  # see the module's docstring

        official = self.model.Kind.OFFICIAL
        later_other_kind = KindChange.objects.filter(
            partnership=OuterRef("partnership"), date__gte=OuterRef("date")
        ).exclude(kind=official)
        changed = (
            KindChange.objects.filter(partnership=OuterRef("pk"), kind=official)
            .filter(~Exists(later_other_kind))
            .order_by("date")
            .values("date")[:1]
        )
        field = self.model._meta.get_field("start")
        changed = Subquery(changed, output_field=field)
        return self.annotate(
            official_since=Case(
                When(~Q(kind=official), then=Value(None, output_field=field)),
                When(start__isnull=True, then=changed),
                When(start__lt=changed, then=changed),
                default=F("start"),
                output_field=field,
            )
        )

    def for_network_list(self):
        return self.networks().annotate(member_count=Count("memberships"))

    def of_kind(self, kind):
        """Of this kind now or at some time: the current kind, or any recorded change of kind
        (Keighley–Poix-du-Nord, official since 1986, was an adoption before)."""
        from registry.models.changes import KindChange  # see the module's docstring

        return self.filter(
            Q(kind=kind) | Exists(KindChange.objects.filter(partnership=OuterRef("pk"), kind=kind))
        )

    def in_country(self, code):
        """With a side or a member in the country with this code, by today's countries."""
        from registry.models.partnerships import Membership  # see the module's docstring

        return self.filter(
            Q(first__country__code=code)
            | Q(second__country__code=code)
            | Exists(
                Membership.objects.filter(
                    partnership=OuterRef("pk"), municipality__country__code=code
                )
            )
        )

    def in_region(self, region):
        """With a side or a member in this first-level region (a region or its primary key)."""
        from registry.models.partnerships import Membership  # see the module's docstring

        return self.filter(
            Q(first__region=region)
            | Q(second__region=region)
            | Exists(
                Membership.objects.filter(partnership=OuterRef("pk"), municipality__region=region)
            )
        )

    def with_partner_in(self, country, *, region=None, home=None):
        """Bilateral partnerships with one side in ``region`` (a region or its primary key)
        or, without one, in the country with the code ``home``, and the other side in the
        country with the code ``country``, either way round (by today's countries of the two
        sides): Bavaria × Italy."""
        if region is not None:
            here = {"region": region}
        else:
            here = {"country__code": home}
        there = {"country__code": country}

        def side(name, lookups):
            return Q(**{f"{name}__{lookup}": value for lookup, value in lookups.items()})

        return self.filter(
            (side("first", here) & side("second", there))
            | (side("second", here) & side("first", there))
        )

    def between_countries(self, one, other):
        """Bilateral partnerships between these two countries, either way round (by today's
        countries of the two sides); ``one == other`` gives the domestic ones."""
        return self.filter(
            Q(first__country__code=one, second__country__code=other)
            | Q(first__country__code=other, second__country__code=one)
        )

    def signed_in(self, code):
        """With a side or member that was in this country at signing (CSHH, DDDE, ...).

        Where the record gives no country at signing, the present country is taken.
        """
        from registry.models.partnerships import Membership  # see the module's docstring

        return self.filter(
            Q(first_country_at_signing__code=code)
            | Q(first_country_at_signing__isnull=True, first__country__code=code)
            | Q(second_country_at_signing__code=code)
            | Q(second_country_at_signing__isnull=True, second__country__code=code)
            | Exists(
                Membership.objects.filter(partnership=OuterRef("pk")).filter(
                    Q(country_at_signing__code=code)
                    | Q(country_at_signing__isnull=True, municipality__country__code=code)
                )
            )
        )

    def founded_from(self, year):
        """Begun in ``year`` or later (at any precision); those of unknown start are left out."""
        return self.filter(start__gte=f"{year:04d}")

    def founded_to(self, year):
        """Begun in ``year`` or earlier (at any precision); those of unknown start are left out."""
        return self.filter(start__lt=f"{year + 1:04d}")

    def begun_in_years(self, years):
        """Begun in any of ``years``: the anniversaries of a year."""
        condition = Q(pk__in=[])
        for year in years:
            # A range rather than a prefix (startswith), so the index on start serves it.
            condition |= Q(start__gte=f"{year:04d}", start__lt=f"{year + 1:04d}")
        return self.filter(condition)

    def per_decade(self):
        """``decade`` (the first three digits of the start year; ``None`` for unknown starts)
        and ``count``, oldest decade first."""
        return (
            self.order_by()
            .annotate(decade=Substr("start", 1, 3))
            .values("decade")
            .annotate(count=Count("pk"))
            .order_by(F("decade").asc(nulls_last=True))
        )

    def per_kind(self):
        """``kind`` and ``count``, the most frequent first."""
        return self.order_by().values("kind").annotate(count=Count("pk")).order_by("-count", "kind")

    def totals(self):
        """How many bilateral partnerships and how many networks, in one query."""
        network = Q(kind=self.model.Kind.NETWORK)
        return self.aggregate(
            bilateral=Count("pk", filter=~network), networks=Count("pk", filter=network)
        )
