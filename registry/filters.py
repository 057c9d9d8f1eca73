"""The filters of the public lists and rankings, as django-filter FilterSets.

Every parameter is validated: a value that cannot be understood (``founded_from=abc``, an
unknown country code, an unknown sort order) makes the form invalid, and the view answers with
the form's message and status 400 instead of a silently different list.
"""

import re
from itertools import groupby
from typing import NamedTuple

import django_filters as filters
from django import forms
from django.db.models import F
from django.utils import timezone
from django.utils.choices import BaseChoiceIterator
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from registry import caching, counting
from registry.dates import PartialDate
from registry.fast_markup import FastBoundField, FastSelect
from registry.models import Country, Event, Municipality, Partnership, Theme
from registry.text import fold

BILATERAL_KINDS = [
    (value, label) for value, label in Partnership.Kind.choices if value != Partnership.Kind.NETWORK
]
YES_NO = [("yes", _("yes")), ("no", _("no"))]
ANY = "any"


# Form fields


class CodeChoiceField(forms.ModelChoiceField):
    """A model chosen by its code, in any case: ``de`` and ``DE`` are Germany."""

    default_error_messages = {
        "invalid_choice": _("There is no country with the code “%(value)s”."),
    }

    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip().upper()
        return super().to_python(value)


class SlugChoiceField(forms.ModelChoiceField):
    """A municipality chosen by its slug, typed or linked rather than picked from a list."""

    widget = forms.TextInput
    default_error_messages = {
        "invalid_choice": _("There is no municipality “%(value)s”."),
    }

    def prepare_value(self, value):
        if isinstance(value, Municipality):
            return value.slug
        return super().prepare_value(value)


class RegionChoice(NamedTuple):
    """A region as the filters read it (``Region.objects.choices()``, cached)."""

    pk: int
    code: str
    name: str
    country_code: str
    country_name: str

    @property
    def value(self):
        """Its value in a query: the ISO 3166-2 code (DE-NW), or where it has none its
        country's code and its name (IT:Lazio)."""
        return self.code or f"{self.country_code}:{self.name}"


def _regions():
    return [RegionChoice(*region) for region in caching.regions()]


class RegionChoices(BaseChoiceIterator):
    """The options of the region drop-down, read when it is shown (not when the form is made,
    nor for a download): every region grouped by country, or only those of ``country`` (a
    code as given) where it has any."""

    def __init__(self, country=""):
        self.country = (country or "").strip().upper()

    def __iter__(self):
        yield ("", _("any"))
        regions = _regions()
        if any(region.country_code == self.country for region in regions):
            regions = [region for region in regions if region.country_code == self.country]
        for country_name, group in groupby(regions, key=lambda region: region.country_name):
            yield (country_name, [(region.value, region.name) for region in group])


class RegionField(forms.Field):
    """A first-level region, picked from a drop-down grouped by country: its ISO 3166-2 code
    in any case (``DE-NW``, ``de-nw``), or where it has none its country's code and its name
    (``IT:Lazio``). Checked against the cached regions, without a query."""

    widget = forms.Select

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.widget.choices = RegionChoices()

    def clean(self, value):
        value = " ".join((super().clean(value) or "").split())
        if not value:
            return None
        if ":" in value:
            country, name = value.split(":", 1)
            wanted = ("", country.strip().upper(), fold(name))
        else:
            wanted = (value.upper(), None, None)
        for region in _regions():
            if (region.code and region.code.upper() == wanted[0]) or (
                not region.code
                and wanted[0] == ""
                and (region.country_code, fold(region.name)) == wanted[1:]
            ):
                return region
        raise forms.ValidationError(
            _("There is no region “%(value)s”."),
            code="invalid_choice",
            params={"value": value},
        )


class YearField(forms.IntegerField):
    default_error_messages = {
        "invalid": _("Enter a year such as 1958."),
        "min_value": _("Enter a year such as 1958."),
        "max_value": _("Enter a year such as 1958."),
    }

    LAST = 9999

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=self.LAST, **kwargs)


class CountryPairField(forms.CharField):
    """Two country codes joined by a hyphen, in either order: ``DE-FR``."""

    pattern = re.compile(r"^([A-Z]{2,4})-([A-Z]{2,4})$")

    def clean(self, value):
        value = super().clean(value).strip().upper()
        if not value:
            return None
        match = self.pattern.match(value)
        if not match:
            raise forms.ValidationError(
                _("Give a pair of country codes with a hyphen, e.g. DE-FR; not “%(value)s”."),
                code="invalid",
                params={"value": value},
            )
        codes = match.groups()
        known = set(Country.objects.filter(code__in=codes).values_list("code", flat=True))
        for code in codes:
            if code not in known:
                raise forms.ValidationError(
                    _("There is no country with the code “%(value)s”."),
                    code="invalid_choice",
                    params={"value": code},
                )
        return codes


class ReferenceDateField(forms.CharField):
    """The day a ranking is counted for: a year means its end (``1970`` is 31 December 1970),
    a month its last day, a date that day. This year, or a day after today, is refused as
    the future, except that this year means today."""

    def clean(self, value):
        value = super().clean(value).strip()
        if not value:
            return None
        try:
            day = PartialDate(value).last_day
        except ValueError:
            raise forms.ValidationError(
                _("Enter a year such as 1970 or a date such as 2021-06-30; not “%(value)s”."),
                code="invalid",
                params={"value": value},
            ) from None
        today = timezone.localdate()
        if day > today:
            if day.year == today.year:
                return today
            raise forms.ValidationError(
                _("%(value)s lies in the future; a ranking counts what has happened."),
                code="future",
                params={"value": value},
            )
        return day


def unknown_parameter(name, known):
    """The message refusing the query parameter ``name`` on a page that takes ``known``."""
    if not known:
        return _("This page has no parameter “%(name)s”; it takes none.") % {"name": name}
    return _("This page has no parameter “%(name)s”; it takes: %(known)s.") % {
        "name": name,
        "known": ", ".join(known),
    }


class FilterForm(forms.Form):
    """The form of a FilterSet, checking the fields against each other and refusing a
    parameter it does not know (besides its fields, the page's ``other_parameters``); its
    field groups written by :class:`registry.fast_markup.FastBoundField`."""

    bound_field_class = FastBoundField
    other_parameters = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "region" in self.fields:
            self.fields["region"].widget.choices = RegionChoices(self.data.get("country", ""))

    @property
    def parameters(self):
        """Every query parameter the page takes, in the form's order."""
        return [*self.fields, *self.other_parameters]

    def clean(self):
        cleaned = super().clean()
        known = self.parameters
        for name in self.data:
            if name not in known:
                self.add_error(None, unknown_parameter(name, known))
        region, country = cleaned.get("region"), cleaned.get("country")
        if region is not None and country is not None and region.country_code != country.code:
            self.add_error(
                "region",
                _("%(region)s is a region of %(its)s, not of %(country)s.")
                % {"region": region.name, "its": region.country_name, "country": country.name},
            )
        if cleaned.get("partner_country") is not None and region is None and country is None:
            self.add_error(
                "partner_country",
                _("Choose a region or a country for the other side as well."),
            )
        start, end = cleaned.get("founded_from"), cleaned.get("founded_to")
        if start is not None and end is not None and start > end:
            raise forms.ValidationError(
                _("“Founded from” (%(start)s) is after “founded to” (%(end)s)."),
                code="order",
                params={"start": start, "end": end},
            )
        return cleaned


# Filters


class CountryFilter(filters.ModelChoiceFilter):
    field_class = CodeChoiceField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("queryset", Country.objects.all())
        kwargs.setdefault("to_field_name", "code")
        super().__init__(*args, **kwargs)


class YearFilter(filters.NumberFilter):
    field_class = YearField


class RegionFilter(filters.Filter):
    field_class = RegionField


class CountryPairFilter(filters.CharFilter):
    field_class = CountryPairField


class ReferenceDateFilter(filters.CharFilter):
    field_class = ReferenceDateField


class MunicipalitySlugFilter(filters.ModelChoiceFilter):
    field_class = SlugChoiceField


class SortFilter(filters.ChoiceFilter):
    """Sorting: each choice names a list of order expressions; the default applies without
    one. Names sort by their folded form, so "Île" sorts under I on every database."""

    def __init__(self, orders, default, **kwargs):
        self.orders = orders
        self.default = default
        kwargs.setdefault("label", _("Sort by"))
        kwargs.setdefault("empty_label", None)
        kwargs.setdefault(
            "error_messages", {"invalid_choice": _("“%(value)s” is not a known sort order.")}
        )
        super().__init__(
            choices=[(key, label) for key, (label, _order) in orders.items()], **kwargs
        )

    def filter(self, queryset, value):
        return queryset.order_by(*self.orders[value or self.default][1]())


def _country_name():
    return "country__name_de" if (get_language() or "en")[:2] == "de" else "country__name_en"


class BaseFilterSet(filters.FilterSet):
    # What a list takes besides its filters: a download (``format``, and ``sep`` for a CSV:
    # registry.views.DOWNLOAD_PARAMETERS), a page of it.
    other_parameters = ("format", "sep", "page")

    def get_form_class(self):
        """The form, its plain drop-down lists written by
        :class:`registry.fast_markup.FastSelect`."""
        form_class = super().get_form_class()
        form_class.other_parameters = self.other_parameters
        for field in form_class.base_fields.values():
            if type(field.widget) is forms.Select:
                quick = FastSelect(attrs=field.widget.attrs)
                quick.choices = field.widget.choices
                field.widget = quick
        return form_class

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        sort = self.filters.get("sort")
        if sort is not None and not self.form.cleaned_data.get("sort"):
            queryset = sort.filter(queryset, None)
        return queryset

    @property
    def messages(self):
        """Every message of the form, as (label, message); the label is empty for a message
        about the whole form."""
        form = self.form
        return [
            (form.fields[name].label if name in form.fields else "", message)
            for name, messages in form.errors.items()
            for message in messages
        ]

    def search(self, queryset, name, value):
        return queryset.search(value)


class MunicipalityFilter(BaseFilterSet):
    q = filters.CharFilter(label=_("Name"), method="search")
    country = CountryFilter(label=_("Country"), method="filter_country")
    kind = filters.ChoiceFilter(
        label=_("Kind"),
        choices=Municipality.Kind.choices,
        empty_label=_("any"),
        error_messages={"invalid_choice": _("“%(value)s” is not a known kind of municipality.")},
    )
    region = RegionFilter(label=_("Region"), method="filter_region")
    seeking = filters.ChoiceFilter(
        label=_("Seeks a partner"),
        choices=YES_NO,
        empty_label=_("either"),
        method="filter_seeking",
        error_messages={"invalid_choice": _("Answer yes or no, not “%(value)s”.")},
    )
    has_partners = filters.ChoiceFilter(
        label=_("Has partners"),
        help_text=_("official twinnings in force today"),
        choices=YES_NO,
        empty_label=_("either"),
        method="filter_has_partners",
        error_messages={"invalid_choice": _("Answer yes or no, not “%(value)s”.")},
    )
    sort = SortFilter(
        {
            "name": (_("name, A–Z"), lambda: ["name_folded", "slug"]),
            "-name": (_("name, Z–A"), lambda: ["-name_folded", "-slug"]),
            "country": (_("country"), lambda: [_country_name(), "name_folded", "slug"]),
            "-country": (
                _("country, Z–A"),
                lambda: [f"-{_country_name()}", "-name_folded", "-slug"],
            ),
            "-partners": (_("most partners first"), lambda: ["-partner_count", "name_folded"]),
            "partners": (_("fewest partners first"), lambda: ["partner_count", "name_folded"]),
        },
        default="name",
    )

    class Meta:
        model = Municipality
        fields = []
        form = FilterForm

    def filter_country(self, queryset, name, value):
        return queryset.filter(country=value)

    def filter_region(self, queryset, name, value):
        return queryset.in_region(value.pk)

    def filter_seeking(self, queryset, name, value):
        return queryset.filter(seeking_partner=value == "yes")

    def filter_has_partners(self, queryset, name, value):
        return queryset.with_partners(value == "yes")


def _by_start(descending=False):
    start = F("start").desc(nulls_last=True) if descending else F("start").asc(nulls_last=True)
    return [start, "slug"]


class PartnershipFilter(BaseFilterSet):
    q = filters.CharFilter(label=_("Name"), method="search")
    kind = filters.ChoiceFilter(
        label=_("Kind, now or at some time"),
        choices=BILATERAL_KINDS,
        empty_label=_("any"),
        method="filter_kind",
        error_messages={"invalid_choice": _("“%(value)s” is not a known kind of partnership.")},
    )
    status = filters.ChoiceFilter(
        label=_("Status"),
        choices=Partnership.Status.choices,
        empty_label=_("any"),
        error_messages={"invalid_choice": _("“%(value)s” is not a known status.")},
    )
    country = CountryFilter(label=_("Country of either side"), method="filter_country")
    region = RegionFilter(label=_("Region of a side"), method="keep")
    partner_country = CountryFilter(
        label=_("Partner's country"),
        method="keep",
        empty_label=_("any"),
        help_text=_("the other side's, with a region or a country"),
    )
    country_pair = CountryPairFilter(
        label=_("Pair of countries"),
        method="filter_country_pair",
        help_text=_("e.g. DE-FR, either order"),
    )
    founded_from = YearFilter(label=_("Founded from (year)"), method="filter_founded_from")
    founded_to = YearFilter(label=_("Founded up to (year)"), method="filter_founded_to")
    municipality = MunicipalitySlugFilter(
        label=_("Municipality (its address name)"),
        queryset=Municipality.objects.all(),
        to_field_name="slug",
        method="filter_municipality",
        help_text=_("e.g. koln"),
    )
    theme = filters.ModelChoiceFilter(
        label=_("Theme"),
        queryset=Theme.objects.all(),
        to_field_name="slug",
        empty_label=_("any"),
        method="filter_theme",
        error_messages={"invalid_choice": _("“%(value)s” is not a known theme.")},
    )
    at_signing = CountryFilter(
        label=_("A side's country at signing"), method="filter_at_signing", empty_label=_("any")
    )
    sort = SortFilter(
        {
            "start": (_("oldest first"), lambda: _by_start()),
            "-start": (_("newest first"), lambda: _by_start(descending=True)),
            "name": (
                _("name, A–Z"),
                lambda: ["first__name_folded", "second__name_folded", "slug"],
            ),
            "-name": (
                _("name, Z–A"),
                lambda: ["-first__name_folded", "-second__name_folded", "-slug"],
            ),
        },
        default="start",
    )

    class Meta:
        model = Partnership
        fields = []
        form = FilterForm

    def filter_kind(self, queryset, name, value):
        return queryset.of_kind(value)

    def filter_country(self, queryset, name, value):
        return queryset.in_country(value.code)

    def keep(self, queryset, name, value):
        return queryset

    def filter_queryset(self, queryset):
        """The region and the partner's country together: one side in the region (or the
        country), the other in the partner's country (Bavaria × Italy)."""
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        region, partner = data.get("region"), data.get("partner_country")
        if partner is not None:
            return queryset.with_partner_in(
                partner.code,
                region=region.pk if region else None,
                home=data["country"].code if data.get("country") else None,
            )
        if region is not None:
            return queryset.in_region(region.pk)
        return queryset

    def filter_country_pair(self, queryset, name, value):
        return queryset.between_countries(*value)

    def filter_founded_from(self, queryset, name, value):
        return queryset.founded_from(value)

    def filter_founded_to(self, queryset, name, value):
        if value >= YearField.LAST:
            # Up to the last year there is: every known start (there is no year 10000 to
            # count up to).
            return queryset.founded_from(1)
        return queryset.founded_to(value)

    def filter_municipality(self, queryset, name, value):
        return queryset.involving(value)

    def filter_theme(self, queryset, name, value):
        return queryset.filter(themes=value)

    def filter_at_signing(self, queryset, name, value):
        return queryset.signed_in(value.code)


class NetworkFilter(BaseFilterSet):
    q = filters.CharFilter(
        label=_("Name"), method="search", help_text=_("its name or any other name")
    )
    country = CountryFilter(label=_("Country of a member"), method="filter_country")
    sort = SortFilter(
        {
            "name": (_("name, A–Z"), lambda: ["name", "slug"]),
            "-name": (_("name, Z–A"), lambda: ["-name", "-slug"]),
            "-members": (_("most members first"), lambda: ["-member_count", "name"]),
            "members": (_("fewest members first"), lambda: ["member_count", "name"]),
            "start": (_("oldest first"), lambda: _by_start()),
            "-start": (_("newest first"), lambda: _by_start(descending=True)),
        },
        default="name",
    )

    class Meta:
        model = Partnership
        fields = []
        form = FilterForm

    def filter_country(self, queryset, name, value):
        return queryset.in_country(value.code)

    def search(self, queryset, name, value):
        return queryset.search_networks(value)


class AwardFilter(BaseFilterSet):
    level = filters.ChoiceFilter(
        label=_("Level"),
        field_name="award",
        choices=Event.Award.choices,
        empty_label=_("any"),
        error_messages={"invalid_choice": _("“%(value)s” is not a known level of award.")},
    )
    country = CountryFilter(
        label=_("Country at the time"), field_name="country_at_time", empty_label=_("any")
    )
    sort = SortFilter(
        {
            "date": (_("oldest first"), lambda: ["date", "title", "pk"]),
            "-date": (_("newest first"), lambda: ["-date", "title", "pk"]),
        },
        default="date",
    )

    class Meta:
        model = Event
        fields = []
        form = FilterForm


class RankingFilter(BaseFilterSet):
    """The ranking of municipalities by number of partners, under the chosen counting rule.

    With the defaults (official twinnings, active, domestic partners included, today) it reads
    the stored ``partner_count``; a past day counts from the dated records; any other rule is
    counted in SQL by ``Municipality.objects.ranked_by()``.
    """

    country = CountryFilter(label=_("Country"), method="filter_country")
    region = RegionFilter(label=_("Region"), method="filter_region")
    kind = filters.ChoiceFilter(
        label=_("Kind of partnership"),
        choices=[*BILATERAL_KINDS, (ANY, _("any kind"))],
        empty_label=None,
        method="keep",
        error_messages={"invalid_choice": _("“%(value)s” is not a known kind of partnership.")},
    )
    status = filters.ChoiceFilter(
        label=_("Status"),
        choices=[*Partnership.Status.choices, (ANY, _("any status"))],
        empty_label=None,
        method="keep",
        error_messages={"invalid_choice": _("“%(value)s” is not a known status.")},
    )
    domestic = filters.ChoiceFilter(
        label=_("Partners in the same country"),
        choices=[
            ("include", _("counted")),
            ("exclude", _("not counted")),
            ("only", _("only these counted")),
        ],
        empty_label=None,
        method="keep",
        error_messages={"invalid_choice": _("“%(value)s” is not include, exclude or only.")},
    )
    on = ReferenceDateFilter(
        label=_("On (year or date)"),
        method="keep",
        help_text=_("1970 means the end of 1970; empty means today"),
    )
    sort = SortFilter(
        {
            "rank": (_("rank"), lambda: []),
            "name": (_("name, A–Z"), lambda: ["name_folded", "slug"]),
            "-name": (_("name, Z–A"), lambda: ["-name_folded", "-slug"]),
            "country": (_("country"), lambda: [_country_name(), "name_folded", "slug"]),
            "-country": (
                _("country, Z–A"),
                lambda: [f"-{_country_name()}", "-name_folded", "-slug"],
            ),
        },
        default="rank",
        method="keep",
    )

    class Meta:
        model = Municipality
        fields = []
        form = FilterForm

    def keep(self, queryset, name, value):
        return queryset

    def filter_country(self, queryset, name, value):
        return queryset.filter(country=value)

    def filter_region(self, queryset, name, value):
        return queryset.in_region(value.pk)

    @property
    def by_rank(self):
        """Sorted by rank (the default), as counted; else by name or country."""
        return (self.form.cleaned_data.get("sort") or "rank") == "rank"

    @property
    def ranks_itself(self):
        """Whether each row comes with its ``rank``: counted in SQL, or sorted otherwise than
        by rank (a window ranks every row first); else the page is ranked
        (``QuerySet.dense_ranks``)."""
        return self.counted_in_sql or not self.by_rank

    @property
    def rule(self):
        """The counting rule asked for: kind and status (``None`` for any), domestic, day."""
        data = self.form.cleaned_data
        kind = data.get("kind") or Partnership.Kind.OFFICIAL
        status = data.get("status") or Partnership.Status.ACTIVE
        return {
            "kind": None if kind == ANY else kind,
            "status": None if status == ANY else status,
            "domestic": data.get("domestic") or "include",
            "day": data.get("on"),
        }

    @property
    def counted_in_sql(self):
        """Which way the ranking is made. ``False``: today's counts by the stored rule, read
        from ``partner_count`` and ranked page by page (``QuerySet.dense_ranks``). ``True``:
        counted in SQL (``Municipality.objects.counting()``), each row with its ``rank`` and
        the list's ``list_total``."""
        rule = self.rule
        return not (rule["day"] is None and _stored(rule))

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        rule = self.rule
        if not self.counted_in_sql:
            queryset = queryset.ranked().annotate_partners("partner_count")
            if not self.by_rank:
                queryset = queryset.with_rank()
        elif _stored(rule):
            queryset = queryset.ranked_on(rule["day"]).annotate_partners("partners_then")
        else:
            queryset = queryset.ranked_by(**rule).annotate_partners("partners_then")
        if not self.by_rank:
            sort = self.filters["sort"]
            queryset = queryset.order_by(*sort.orders[self.form.cleaned_data["sort"]][1]())
        return queryset


def _stored(rule):
    return counting.is_the_stored_rule(rule["kind"], rule["status"], rule["domestic"])
