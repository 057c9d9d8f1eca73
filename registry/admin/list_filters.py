"""The changelists' own list filters: related records that exist, decades, partner countries."""

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Substr
from django.utils.translation import gettext_lazy as _

from registry import caching
from registry.models import (
    Country,
    Membership,
)


class RelatedExistsListFilter(admin.RelatedOnlyFieldListFilter):
    """Django's ``RelatedOnlyFieldListFilter``, asking of each choice whether a row has it (an
    index lookup per country) rather than collecting the distinct values of every row: 48 ms
    for 200,000 towns on PostgreSQL, now under one."""

    def field_choices(self, field, request, model_admin):
        rows = model_admin.get_queryset(request).filter(**{self.field_path: OuterRef("pk")})
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(
            include_blank=False, limit_choices_to=Q(Exists(rows)), ordering=ordering
        )


class DecadeListFilter(admin.SimpleListFilter):
    """The decade a partnership started in: only the decades that have one are offered.

    Finding them reads every partnership's start (17 ms for 100,000), so they are cached until
    the data changes, as the public pages' counts are."""

    title = _("decade of start")
    parameter_name = "decade"

    def lookups(self, request, model_admin):
        def decades():
            return list(
                model_admin.get_queryset(request)
                .filter(start__isnull=False)
                .annotate(decade=Substr("start", 1, 3))
                .order_by("-decade")
                .values_list("decade", flat=True)
                .distinct()
            )

        decades = caching.get_or_compute("admin-decades", decades, model_admin.model._meta.label)
        return [(f"{decade}0", _("%(decade)s0s") % {"decade": decade}) for decade in decades]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not (len(value) == 4 and value.isdigit() and value.endswith("0")):
            # Say so, and show nothing rather than an unfiltered list that looks filtered.
            if not getattr(self, "_warned", False):
                messages.error(
                    request,
                    _("“%(value)s” is not a decade such as 1980.") % {"value": value},
                )
                self._warned = True
            return queryset.none()
        return queryset.filter(start__startswith=value[:3])


class PartnerCountryListFilter(admin.SimpleListFilter):
    """A country on either side, or of any member."""

    title = _("country")
    parameter_name = "country"

    def lookups(self, request, model_admin):
        return [(country.code, country.name) for country in Country.objects.with_municipalities()]

    def queryset(self, request, queryset):
        code = self.value()
        if not code:
            return queryset
        if code not in dict(self.lookup_choices):
            # As the decade filter: say so, and show nothing rather than a list that looks
            # filtered by it.
            if not getattr(self, "_warned", False):
                messages.error(
                    request,
                    _("“%(value)s” is not the code of a country with a municipality, such as DE.")
                    % {"value": code},
                )
                self._warned = True
            return queryset.none()
        return queryset.filter(
            Q(first__country__code=code)
            | Q(second__country__code=code)
            | Q(
                pk__in=Membership.objects.filter(municipality__country__code=code).values(
                    "partnership"
                )
            )
        )
