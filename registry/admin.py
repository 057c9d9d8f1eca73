"""The staff's home: entering and correcting municipalities, partnerships and their history.

Every record of the registry keeps its history (django-simple-history): the "History"
button of each object shows who changed what and when, and staff who may change it can
revert any earlier version from there. Rows edited inline (members, kind and status changes,
alternative names) have their own page for that, behind the row's change link. Import runs
are kept as written, with no history of their own; reverting one deletes what it created and
records on the run who reverted it and when.
Searches ignore case and accents and look at every name, so "koln" and "Cologne" find Köln.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import Q
from django.db.models.functions import Substr
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

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


def partial_date_column(field, description):
    """A changelist column showing a :class:`PartialDate` at its precision, sorted by the field.

    "1988", "November 1988" or "May 22, 1980" instead of the stored ISO text.
    """

    @admin.display(description=description, ordering=field)
    def column(self, obj):
        value = getattr(obj, field)
        return value.display() if value else None

    return column


class HistoryAdmin(SimpleHistoryAdmin):
    """The history admin, with reverting reserved for those who may change.

    django-simple-history shows the revert form to anyone who may view the object and saves
    whatever is posted to it; a Reviewer (view only) must not be able to revert.
    """

    def get_history_queryset(self, request, history_manager, pk_name, object_id):
        # simple_history calls select_related() with no names when a model has no foreign key
        # (Source), which Django 6.1 deprecates; name the relations, or none at all.
        related = [
            field.name
            for field in history_manager.model.tracked_fields
            if isinstance(field, models.ForeignKey)
        ]
        if not isinstance(history_manager.model.history_user, property):
            related.append("history_user")
        history = history_manager.filter(**{pk_name: object_id})
        return history.select_related(*related) if related else history

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST" and not self.has_change_history_permission(request):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class QuerySetSearchMixin:
    """Search through the model's own ``QuerySet.search()``: folded, over every name.

    ``search_fields`` stays set because the admin requires it for autocomplete targets;
    the matching itself is the queryset's.
    """

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.search(search_term), False


class RelatedSearchMixin:
    """Search a row by the records it belongs to, through their ``QuerySet.search()``.

    A member is found by its town's or its partnership's names, folded, as those are.
    """

    search_related = []

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        found = Q()
        for name in self.search_related:
            related = self.model._meta.get_field(name).related_model
            found |= Q(**{f"{name}__in": related.objects.search(search_term).values("pk")})
        return queryset.filter(found), False


class DecadeListFilter(admin.SimpleListFilter):
    """The decade a partnership started in: only the decades that have one are offered."""

    title = _("decade of start")
    parameter_name = "decade"

    def lookups(self, request, model_admin):
        decades = (
            model_admin.get_queryset(request)
            .filter(start__isnull=False)
            .annotate(decade=Substr("start", 1, 3))
            .order_by("-decade")
            .values_list("decade", flat=True)
            .distinct()
        )
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
        countries = Country.objects.filter(municipalities__isnull=False).distinct()
        return [(country.code, country.name) for country in countries]

    def queryset(self, request, queryset):
        code = self.value()
        if not code:
            return queryset
        return queryset.filter(
            Q(first__country__code=code)
            | Q(second__country__code=code)
            | Q(
                pk__in=Membership.objects.filter(municipality__country__code=code).values(
                    "partnership"
                )
            )
        )


@admin.register(Source)
class SourceAdmin(HistoryAdmin):
    list_display = ["citation", "publisher", "published_display", "url", "accessed"]
    search_fields = ["citation", "publisher", "url", "key"]
    prepopulated_fields = {"key": ["citation"]}

    published_display = partial_date_column("published", _("published"))


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    """What each run of ``import_partnerships`` brought in; written by the command only.

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
                partnerships, municipalities = run.revert(request.user)
                self.log_change(request, run, "Reverted")
                self.message_user(
                    request,
                    _("Reverted “%(run)s”: %(partnerships)s and %(municipalities)s deleted.")
                    % {
                        "run": run,
                        "partnerships": ngettext(
                            "%(count)d partnership", "%(count)d partnerships", partnerships
                        )
                        % {"count": partnerships},
                        "municipalities": ngettext(
                            "%(count)d municipality", "%(count)d municipalities", municipalities
                        )
                        % {"count": municipalities},
                    },
                    messages.SUCCESS,
                )

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
    list_filter = ["kind", "seeking_partner", ("country", admin.RelatedOnlyFieldListFilter)]
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
