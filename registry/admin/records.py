"""The admins of the registry's records: sources, import runs, countries, regions, names,
municipalities, partnerships and networks with their members and changes, events, themes,
associations.
"""

from django.contrib import admin, messages
from django.db import transaction
from django.utils.text import get_text_list
from django.utils.translation import gettext, ngettext_lazy
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
from registry.admin.refusals import RefuseBadAddressMixin
from registry.models import (
    AlternativeName,
    Association,
    Country,
    Event,
    ImportRun,
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


# What a revert deleted, in words (the number picks the plural: ngettext_lazy with "count").
_DELETED = {
    Partnership: ngettext_lazy("%(count)d partnership", "%(count)d partnerships", "count"),
    Municipality: ngettext_lazy("%(count)d municipality", "%(count)d municipalities", "count"),
    Membership: ngettext_lazy("%(count)d member", "%(count)d members", "count"),
    Event: ngettext_lazy("%(count)d event", "%(count)d events", "count"),
    KindChange: ngettext_lazy("%(count)d change of kind", "%(count)d changes of kind", "count"),
    StatusChange: ngettext_lazy(
        "%(count)d change of status", "%(count)d changes of status", "count"
    ),
}


def _reverted_text(run, deleted):
    """What reverting ``run`` deleted (``{model: count}``, as :meth:`ImportRun.revert` gives
    it), in words, the counts that are not 0: "Reverted “…”: 1 partnership, 1 municipality
    and 3 members deleted."; "…: nothing of it was left to delete." if all are."""
    parts = [
        words % {"count": deleted[model]} for model, words in _DELETED.items() if deleted.get(model)
    ]
    if not parts:
        return gettext("Reverted “%(run)s”: nothing of it was left to delete.") % {"run": run}
    return gettext("Reverted “%(run)s”: %(deleted)s deleted.") % {
        "run": run,
        "deleted": get_text_list(parts, gettext("and")),
    }


@admin.register(ImportRun)
class ImportRunAdmin(RefuseBadAddressMixin, admin.ModelAdmin):
    """What each run of ``import_partnerships``, ``import_municipalities``, ``import_events``,
    ``import_networks`` or ``import_changes`` brought in; written by the commands only.

    A run can be reverted ("Revert this import"): what it created goes again, see
    :meth:`ImportRun.revert`. Only superusers and those who may delete partnerships may.
    """

    list_display = [
        "created",
        "file_name",
        "user",
        "rows_read",
        "rows_rejected",
        "municipalities_created",
        "municipalities_matched",
        "partnerships_created",
        "events_created",
        "memberships_created",
        "changes_created",
        "duplicates_merged",
        "already_present",
        "reverted",
        "reverted_by",
    ]
    list_select_related = ["user", "reverted_by"]
    search_fields = ["file_name", "sha256"]
    date_hierarchy = "created"
    readonly_fields = ["reverted", "reverted_by"]
    actions = ["revert_import"]

    @admin.action(description=_("Revert this import"), permissions=["revert"])
    def revert_import(self, request, queryset):
        with transaction.atomic():
            for run in queryset.order_by("-created", "-pk"):
                if run.reverted:
                    self.message_user(
                        request,
                        _("“%(run)s” was reverted before; nothing was done.") % {"run": run},
                        messages.WARNING,
                    )
                    continue
                deleted = run.revert(request.user)
                self.log_change(request, run, "Reverted")
                self.message_user(request, _reverted_text(run, deleted), messages.SUCCESS)

    def has_revert_permission(self, request):
        return request.user.has_perm("registry.delete_partnership")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
class MunicipalityAdmin(QuerySetSearchMixin, HistoryAdmin):
    list_display = ["name", "kind", "country", "region", "partner_count", "seeking_partner"]
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


@admin.register(Partnership)
class PartnershipAdmin(QuerySetSearchMixin, HistoryAdmin):
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
        (None, {"fields": ["kind", "status", "name", "slug"]}),
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
