"""The corrections reported by the public (``registry.corrections``), for staff: new ones
first, each linked to its subject; Editors set the status and a note, Reviewers look."""

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy

from registry.admin.refusals import RefuseBadAddressMixin
from registry.admin.stale_forms import StaleFormMixin
from registry.models import CorrectionReport


@admin.register(CorrectionReport)
class CorrectionReportAdmin(RefuseBadAddressMixin, StaleFormMixin, admin.ModelAdmin):
    list_display = ["created_at", "subject_link", "short_text", "status", "handled_by"]
    list_display_links = ["created_at"]
    list_filter = ["status", "language"]
    list_select_related = [  # as for_list()
        "municipality",
        "partnership__first",
        "partnership__second",
        "handled_by",
    ]
    search_fields = [
        "text",
        "source",
        "name",
        "email",
        "municipality__name",
        "partnership__name",
        "partnership__first__name",
        "partnership__second__name",
    ]
    fields = [
        "subject_link",
        "public_page",
        "text",
        "source",
        "name",
        "email",
        "language",
        "created_at",
        "status",
        "staff_note",
        "handled_by",
        "handled_at",
    ]
    readonly_fields = [
        "subject_link",
        "public_page",
        "text",
        "source",
        "name",
        "email",
        "language",
        "created_at",
        "handled_by",
        "handled_at",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).for_list()

    @admin.display(description=gettext_lazy("subject"))
    def subject_link(self, report):
        subject = report.subject
        opts = subject._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[subject.pk])
        return format_html('<a href="{}">{}: {}</a>', url, opts.verbose_name, subject)

    @admin.display(description=gettext_lazy("public page"))
    def public_page(self, report):
        url = report.subject.get_absolute_url()
        return format_html('<a href="{}">{}</a>', url, url)

    @admin.display(description=gettext_lazy("what is wrong"))
    def short_text(self, report):
        return Truncator(report.text).chars(120)

    def has_add_permission(self, request):
        return False  # reported on the public site only

    def save_model(self, request, obj, form, change):
        if "status" in form.changed_data:
            new = obj.status == CorrectionReport.Status.NEW
            obj.handled_by = None if new else request.user
            obj.handled_at = None if new else timezone.now()
        super().save_model(request, obj, form, change)
