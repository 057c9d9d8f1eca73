"""Merging municipalities in the admin, making one a district of another, and undoing a merge.

On the municipalities' list, the actions "Merge into another municipality…" and "Make a
district of…" take exactly one selected municipality B to a page choosing A; choosing shows
the preview (``registry.merging.plan_merge``: what moves, what is merged, what refuses the
merge) and only its POST writes. The merges' list has an "Undo" button for each merge, with a
confirmation page; so has the history of the municipality a merge went into. Those with
``registry.merge_municipality`` may do all of it (superusers, Editors); GET never writes.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from registry import merging
from registry.admin.refusals import RefuseBadAddressMixin
from registry.models import Merge, Municipality

PERMISSION = "registry.merge_municipality"


class _Autocomplete(AutocompleteSelect):
    """The admin's picker, which shows a refused value that is no key ("abc") as no choice
    rather than looking it up (a 500)."""

    def optgroups(self, name, value, attr=None):
        keys = []
        for key in value:
            try:
                Municipality._meta.pk.to_python(key)
            except ValidationError:
                continue
            keys.append(key)
        return super().optgroups(name, keys, attr)


class ChooseForm(forms.Form):
    """The municipality A that B is merged into or becomes a district of."""

    def __init__(self, *args, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["into"] = forms.ModelChoiceField(
            Municipality.objects.all(),
            label=_("Municipality"),
            widget=_Autocomplete(Municipality._meta.get_field("parent"), admin_site),
        )


class MergeActionsMixin:
    """The merge and district actions and pages of ``MunicipalityAdmin``."""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/merge/",
                view(self.merge_view),
                name="registry_municipality_merge",
            ),
            path(
                "<int:pk>/district/",
                view(self.district_view),
                name="registry_municipality_district",
            ),
            *super().get_urls(),
        ]

    object_history_template = "admin/registry/municipality/object_history.html"

    def has_merge_permission(self, request):
        return request.user.has_perm(PERMISSION)

    def history_view(self, request, object_id, extra_context=None):
        """The history, with an "Undo" for each merge into this town not undone yet."""
        merges = []
        if self.has_merge_permission(request) and str(object_id).isdigit():
            merges = list(
                Merge.objects.filter(into_id=int(object_id), undone__isnull=True).order_by(
                    "-created", "-pk"
                )
            )
        extra_context = {**(extra_context or {}), "merges_into": merges}
        return super().history_view(request, object_id, extra_context)

    def _one(self, request, queryset, url_name):
        keys = list(queryset.values_list("pk", flat=True)[:2])
        if len(keys) != 1:
            self.message_user(
                request, gettext("Select exactly one municipality for this."), messages.ERROR
            )
            return None
        return redirect(f"admin:{url_name}", keys[0])

    @admin.action(description=_("Merge into another municipality…"), permissions=["merge"])
    def merge_into_another(self, request, queryset):
        return self._one(request, queryset, "registry_municipality_merge")

    @admin.action(description=_("Make a district of…"), permissions=["merge"])
    def make_district_of(self, request, queryset):
        return self._one(request, queryset, "registry_municipality_district")

    def _page(self, request, b, template, title, **context):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "b": b,
            **context,
        }
        status = 400 if context.get("form") is not None and context["form"].errors else 200
        return TemplateResponse(
            request, f"admin/registry/municipality/{template}", context, status=status
        )

    def _chosen(self, request, b):
        """The form choosing A, from the address (GET) or the confirmation (POST)."""
        data = request.POST if request.method == "POST" else request.GET
        form = ChooseForm(data if "into" in data else None, admin_site=self.admin_site)
        return form, (form.cleaned_data["into"] if form.is_bound and form.is_valid() else None)

    def merge_view(self, request, pk):
        """GET: choose A, then the preview; POST: merge B into A."""
        if not self.has_merge_permission(request):
            raise PermissionDenied
        b = get_object_or_404(Municipality.objects.select_related("country"), pk=pk)
        form, a = self._chosen(request, b)
        title = gettext("Merge %(b)s into another municipality") % {"b": b}
        if a is None:
            return self._page(request, b, "merge_choose.html", title, form=form, action="merge")
        if request.method == "POST":
            try:
                merge_record = merging.merge(a, b, request.user)
            except merging.MergeRefused as refused:
                for message in refused.messages:
                    self.message_user(request, message, messages.ERROR)
                return redirect(f"{request.path}?into={a.pk}")
            self.message_user(
                request,
                gettext("%(b)s was merged into %(a)s; it can be undone under Merges.")
                % {"a": merge_record.into_name, "b": merge_record.merged_name},
                messages.SUCCESS,
            )
            return redirect("admin:registry_municipality_change", a.pk)
        plan = merging.plan_merge(a, b)
        return self._page(request, b, "merge_preview.html", title, a=a, plan=plan, form=form)

    def district_view(self, request, pk):
        """GET: choose A, then the preview; POST: make B a district of A."""
        if not self.has_merge_permission(request):
            raise PermissionDenied
        b = get_object_or_404(Municipality.objects.select_related("parent"), pk=pk)
        form, a = self._chosen(request, b)
        title = gettext("Make %(b)s a district of another municipality") % {"b": b}
        if a is None:
            return self._page(request, b, "merge_choose.html", title, form=form, action="district")
        if request.method == "POST":
            try:
                merging.make_district(a, b, request.user)
            except merging.MergeRefused as refused:
                for message in refused.messages:
                    self.message_user(request, message, messages.ERROR)
                return redirect(f"{request.path}?into={a.pk}")
            self.message_user(
                request,
                gettext("%(b)s is now a district of %(a)s.") % {"a": a, "b": b},
                messages.SUCCESS,
            )
            return redirect("admin:registry_municipality_change", b.pk)
        problems = merging.district_problems(a, b)
        return self._page(
            request, b, "district_preview.html", title, a=a, problems=problems, form=form
        )


@admin.register(Merge)
class MergeAdmin(RefuseBadAddressMixin, admin.ModelAdmin):
    """The merges made, each with its "Undo"."""

    list_display = ["__str__", "created", "created_by", "undone", "undone_by", "undo_button"]
    list_select_related = ["created_by", "undone_by"]
    search_fields = ["merged_name", "into_name"]
    date_hierarchy = "created"
    fields = [
        "merged_name",
        "merged_pk",
        "into",
        "into_name",
        "summary",
        "created",
        "created_by",
        "undone",
        "undone_by",
    ]
    readonly_fields = fields

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/undo/", view(self.undo_view), name="registry_merge_undo"),
            *super().get_urls(),
        ]

    @admin.display(description=_("undo"))
    def undo_button(self, obj):
        if obj.undone:
            return "—"
        return format_html(
            '<a class="button" href="{}">{}</a>',
            reverse("admin:registry_merge_undo", args=[obj.pk]),
            gettext("Undo"),
        )

    def undo_view(self, request, pk):
        """GET: what undoing will do (or why it cannot); POST: undo the merge."""
        if not self.has_merge_permission(request):
            raise PermissionDenied
        merge_record = get_object_or_404(Merge, pk=pk)
        if request.method == "POST":
            try:
                merging.undo_merge(merge_record, request.user)
            except merging.MergeRefused as refused:
                for message in refused.messages:
                    self.message_user(request, message, messages.ERROR)
                return redirect("admin:registry_merge_undo", pk)
            self.message_user(
                request,
                gettext("The merge of %(b)s into %(a)s was undone.")
                % {"a": merge_record.into_name, "b": merge_record.merged_name},
                messages.SUCCESS,
            )
            return redirect("admin:registry_merge_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Undo this merge?"),
            "merge": merge_record,
            "problems": merging.undo_problems(merge_record),
        }
        return TemplateResponse(request, "admin/registry/merge/undo_confirmation.html", context)

    def has_merge_permission(self, request):
        return request.user.has_perm(PERMISSION)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
