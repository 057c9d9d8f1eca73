"""The admins of the registry's records: sources, countries, regions, names,
municipalities, partnerships and networks with their members and changes, events, themes,
associations.
"""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from registry.admin.base import (
    HistoryAdmin,
    QuerySetSearchMixin,
    RelatedSearchMixin,
    partial_date_column,
)
from registry.admin.list_filters import (
    DecadeListFilter,
    PartnerCountryListFilter,
    RelatedExistsListFilter,
)
from registry.admin.merging import MergeActionsMixin
from registry.models import (
    AlternativeName,
    Association,
    Country,
    Event,
    KindChange,
    Membership,
    Municipality,
    Partnership,
    Region,
    Source,
    StatusChange,
    Theme,
)


@admin.register(Source)
class SourceAdmin(HistoryAdmin):
    list_display = ["citation", "publisher", "published_display", "url", "accessed"]
    search_fields = ["citation", "publisher", "url", "key"]
    prepopulated_fields = {"key": ["citation"]}

    published_display = partial_date_column("published", _("published"))


@admin.register(Country)
class CountryAdmin(HistoryAdmin):
    list_display = ["code", "name_en", "name_de", "ended_display"]
    list_filter = [("ended", admin.EmptyFieldListFilter)]
    search_fields = ["code", "alpha3", "name_en", "name_de"]
    autocomplete_fields = ["successors"]

    ended_display = partial_date_column("ended", _("ended"))


@admin.register(Region)
class RegionAdmin(HistoryAdmin):
    list_display = ["name", "code", "country"]
    list_select_related = ["country"]
    list_filter = [("country", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "code"]
    autocomplete_fields = ["country"]


class AlternativeNameInline(admin.TabularInline):
    model = AlternativeName
    extra = 0
    fields = ["name", "kind", "language", "used_from", "used_until", "sources"]
    autocomplete_fields = ["sources"]
    show_change_link = True


@admin.register(AlternativeName)
class AlternativeNameAdmin(RelatedSearchMixin, HistoryAdmin):
    """Mostly edited inline on the municipality; its own page has its history."""

    list_display = ["name", "municipality", "kind", "language", "used_from", "used_until"]
    list_select_related = ["municipality"]
    list_filter = ["kind"]
    search_fields = ["name"]
    search_related = ["municipality"]
    autocomplete_fields = ["municipality", "sources"]


class MunicipalityEventInline(admin.StackedInline):
    model = Event
    fk_name = "municipality"
    extra = 0
    fields = [
        ("kind", "award"),
        "title",
        ("date", "country_at_time"),
        "place",
        "description",
        "sources",
    ]
    autocomplete_fields = ["country_at_time", "sources"]
    show_change_link = True


@admin.register(Municipality)
class MunicipalityAdmin(MergeActionsMixin, QuerySetSearchMixin, HistoryAdmin):
    list_display = ["name", "kind", "country", "region", "partner_count", "seeking_partner"]
    actions = ["delete_selected", "merge_into_another", "make_district_of"]
    list_select_related = ["country", "region"]
    list_filter = ["kind", "seeking_partner", ("country", RelatedExistsListFilter)]
    # By the folded name, as the public list: the order an index holds (by ``name``, as the
    # model's own ordering, 200,000 towns were sorted on every visit: 96 ms).
    ordering = ["name_folded", "pk"]
    # A second COUNT(*) of every row on each visit, only for "(N total)" beside a filtered
    # count: "Show all" instead.
    show_full_result_count = False
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["country", "region", "parent", "successor", "sources"]
    readonly_fields = ["partner_count", "import_run"]
    inlines = [AlternativeNameInline, MunicipalityEventInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "kind", "country", "region"]}),
        (_("Place"), {"fields": [("latitude", "longitude"), "population", "website"]}),
        (_("Belonging"), {"fields": ["parent", ("successor", "merged")]}),
        (_("Identifiers"), {"fields": [("wikidata_id", "geonames_id")]}),
        (_("Seeking a partner"), {"fields": ["seeking_partner", "seeking_description"]}),
        (None, {"fields": ["partner_count", "sources", "import_run"]}),
    ]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = [
        "municipality",
        "side",
        "joined",
        "left",
        "name_at_signing",
        "country_at_signing",
        "note",
        "sources",
    ]
    autocomplete_fields = ["municipality", "country_at_signing", "sources"]
    verbose_name_plural = _("members of a network, or joint partners of one side")
    show_change_link = True


@admin.register(Membership)
class MembershipAdmin(RelatedSearchMixin, HistoryAdmin):
    """Mostly edited inline on the partnership; its own page has its history."""

    list_display = ["municipality", "partnership", "side", "joined_display", "left_display"]
    list_select_related = ["municipality", "partnership__first", "partnership__second"]
    list_filter = ["side"]
    search_fields = ["municipality__name"]
    search_related = ["municipality", "partnership"]
    autocomplete_fields = ["partnership", "municipality", "country_at_signing", "sources"]

    joined_display = partial_date_column("joined", _("joined"))
    left_display = partial_date_column("left", _("left"))


class KindChangeInline(admin.TabularInline):
    model = KindChange
    extra = 0
    fields = ["kind", "date", "recognised_by", "note", "sources"]
    autocomplete_fields = ["recognised_by", "sources"]
    show_change_link = True


@admin.register(KindChange)
class KindChangeAdmin(RelatedSearchMixin, HistoryAdmin):
    """Mostly edited inline on the partnership; its own page has its history."""

    list_display = ["partnership", "kind", "date_display", "recognised_by"]
    list_select_related = ["partnership__first", "partnership__second", "recognised_by"]
    list_filter = ["kind"]
    search_fields = ["note"]
    search_related = ["partnership"]
    autocomplete_fields = ["partnership", "recognised_by", "sources"]

    date_display = partial_date_column("date", _("from"))


class StatusChangeInline(admin.TabularInline):
    model = StatusChange
    extra = 0
    fields = ["status", "date", "note", "sources"]
    autocomplete_fields = ["sources"]
    show_change_link = True


@admin.register(StatusChange)
class StatusChangeAdmin(RelatedSearchMixin, HistoryAdmin):
    """Mostly edited inline on the partnership; its own page has its history."""

    list_display = ["partnership", "status", "date_display"]
    list_select_related = ["partnership__first", "partnership__second"]
    list_filter = ["status"]
    search_fields = ["note"]
    search_related = ["partnership"]
    autocomplete_fields = ["partnership", "sources"]

    date_display = partial_date_column("date", _("from"))


class PartnershipEventInline(admin.StackedInline):
    model = Event
    fk_name = "partnership"
    extra = 0
    fields = [
        ("kind", "award"),
        "title",
        "date",
        "place",
        "participants",
        "description",
        "sources",
    ]
    autocomplete_fields = ["sources"]
    show_change_link = True


class PartnershipForm(forms.ModelForm):
    """A partnership (or network) saved in the admin carries at least one source: "every fact
    carries its sources". A new source is one click away, the "+" beside the field."""

    def clean_sources(self):
        sources = self.cleaned_data.get("sources")
        if not sources:
            raise forms.ValidationError(
                _(
                    "Give at least one source for this partnership: choose one, or add a new "
                    "one with the “+” beside the field."
                ),
                code="required",
            )
        return sources


@admin.register(Partnership)
class PartnershipAdmin(QuerySetSearchMixin, HistoryAdmin):
    form = PartnershipForm
    list_display = ["__str__", "kind", "start_display", "end_display", "status"]
    list_select_related = ["first", "second"]
    list_filter = ["kind", "status", PartnerCountryListFilter, DecadeListFilter]
    show_full_result_count = False  # as for municipalities
    search_fields = ["name"]
    autocomplete_fields = [
        "first",
        "first_country_at_signing",
        "second",
        "second_country_at_signing",
        "continues",
        "themes",
        "associations",
        "sources",
    ]
    readonly_fields = ["import_run"]
    inlines = [MembershipInline, KindChangeInline, StatusChangeInline, PartnershipEventInline]
    fieldsets = [
        (None, {"fields": ["kind", "status", "name", "other_names", "slug"]}),
        (
            _("Partners"),
            {
                "fields": [
                    "first",
                    ("first_name_at_signing", "first_country_at_signing"),
                    "second",
                    ("second_name_at_signing", "second_country_at_signing"),
                ]
            },
        ),
        (_("Dates"), {"fields": [("start", "end"), "continues"]}),
        (
            _("Details"),
            {
                "fields": [
                    "initiative",
                    "themes",
                    "associations",
                    "description",
                    "sources",
                    "import_run",
                ]
            },
        ),
    ]

    start_display = partial_date_column("start", _("start"))
    end_display = partial_date_column("end", _("end"))


@admin.register(Event)
class EventAdmin(HistoryAdmin):
    list_display = ["date_display", "title", "kind", "award", "partnership", "municipality"]
    list_select_related = ["partnership__first", "partnership__second", "municipality"]
    list_filter = ["kind", "award"]
    search_fields = ["title", "description", "place"]
    show_full_result_count = False  # as for municipalities
    autocomplete_fields = ["partnership", "municipality", "country_at_time", "sources"]

    date_display = partial_date_column("date", _("date"))


@admin.register(Theme)
class ThemeAdmin(HistoryAdmin):
    list_display = ["slug", "name_en", "name_de"]
    search_fields = ["slug", "name_en", "name_de"]


@admin.register(Association)
class AssociationAdmin(HistoryAdmin):
    list_display = ["name", "municipality", "founded_display", "website"]
    list_select_related = ["municipality"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["municipality"]

    founded_display = partial_date_column("founded", _("founded"))
