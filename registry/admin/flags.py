"""The list of review flags, for Editors: open ones first to look at, each linked to its
record; the action "Mark resolved", and a flag's status changed on its own page."""

from django.contrib import admin, messages
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from registry.admin.refusals import RefuseBadAddressMixin
from registry.models import ReviewFlag


@admin.register(ReviewFlag)
class ReviewFlagAdmin(RefuseBadAddressMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "flagged_record",
        "comment",
        "created_by",
        "status",
        "resolved_by",
        "resolved_at",
    ]
    list_display_links = ["created_at"]
    list_filter = ["status"]
    list_select_related = ["content_type", "created_by", "resolved_by"]  # as for_list()
    search_fields = ["comment"]
    actions = ["mark_resolved"]
    fields = [
        "flagged_record",
        "comment",
        "created_by",
        "created_at",
        "status",
        "resolved_by",
        "resolved_at",
    ]
    readonly_fields = [
        "flagged_record",
        "comment",
        "created_by",
        "created_at",
        "resolved_by",
        "resolved_at",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).for_list()

    @admin.display(description=gettext_lazy("record"))
    def flagged_record(self, flag):
        record = flag.record
        kind = flag.content_type.name
        if record is None:
            return _("%(kind)s #%(key)s (deleted)") % {"kind": kind, "key": flag.object_id}
        try:
            url = reverse(
                f"admin:{flag.content_type.app_label}_{flag.content_type.model}_change",
                args=[flag.object_id],
            )
        except NoReverseMatch:  # a kind of record the admin does not show
            return f"{kind}: {record}"
        return format_html('<a href="{}">{}: {}</a>', url, kind, record)

    @admin.action(permissions=["change"], description=gettext_lazy("Mark resolved"))
    def mark_resolved(self, request, queryset):
        resolved = queryset.resolve(request.user)
        self.message_user(
            request,
            ngettext(
                "%(count)d flag marked resolved.", "%(count)d flags marked resolved.", resolved
            )
            % {"count": resolved},
            messages.SUCCESS,
        )

    def has_add_permission(self, request):
        return False  # a record is flagged from its own page ("Flag for review")

    def save_model(self, request, obj, form, change):
        if "status" in form.changed_data:
            resolved = obj.status == ReviewFlag.Status.RESOLVED
            obj.resolved_by = request.user if resolved else None
            obj.resolved_at = timezone.now() if resolved else None
        super().save_model(request, obj, form, change)
