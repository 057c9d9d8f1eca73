"""Import runs in the admin: importing a file (upload, dry run, confirmation, progress), the
runs' list and pages, and reverting a run after a confirmation that lists what will go.

Importing a file ("Import a file" on the runs' list): the file is checked by the import
commands' own dry run, and its report (the counts, every problem with its line and column) is
shown before anything is written; confirming imports its good rows, in the request for a small
file and as a background task for a large one (its page shows the lines checked as it runs).
Those who may add uploads may import (superusers, Editors); those who may delete partnerships
may revert a run (superusers).
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import get_text_list
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _
from django_tasks_db.models import DBTaskResult

from registry import uploads
from registry.admin.refusals import RefuseBadAddressMixin
from registry.models import (
    Event,
    ImportRun,
    ImportUpload,
    KindChange,
    Membership,
    Municipality,
    Partnership,
    StatusChange,
)

# What a revert deletes, in words (the number picks the plural: ngettext_lazy with "count").
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

# The labels of an import's report (``Report.summary()``), in the admin's language.
SUMMARY_LABELS = {
    "rows read": _("rows read"),
    "rows rejected": _("rows rejected"),
    "municipalities created": _("municipalities created"),
    "municipalities matched": _("municipalities matched"),
    "municipalities geocoded": _("municipalities geocoded"),
    "partnerships created": _("partnerships created"),
    "duplicates merged": _("duplicates merged"),
    "already in the registry": _("already in the registry"),
    "events created": _("events created"),
    "networks created": _("networks created"),
    "networks matched": _("networks matched"),
    "members added": _("members added"),
    "changes of kind created": _("changes of kind created"),
    "changes of status created": _("changes of status created"),
}

# How many records of each kind the revert confirmation names.
SHOWN_PER_KIND = 10


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


def _change_url(record):
    opts = record._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[record.pk])


def revert_preview(run):
    """What the confirmation of reverting ``run`` shows: for each kind of record it would
    delete, the count, its words and the first records with links; and the towns it created
    that it keeps (others use them)."""
    deleted, kept = run.revert_preview()
    kinds = []
    for model, queryset in deleted.items():
        count = queryset.count()
        if count:
            shown = [(str(record), _change_url(record)) for record in queryset[:SHOWN_PER_KIND]]
            words = _DELETED[model] % {"count": count}
            kinds.append({"words": words, "shown": shown, "more": count > SHOWN_PER_KIND})
    kept_count = kept.count()
    return {
        "run": run,
        "kinds": kinds,
        "kept_count": kept_count,
        "kept": [(str(town), _change_url(town)) for town in kept[:SHOWN_PER_KIND]],
    }


class ImportFileForm(forms.Form):
    """The upload form: the kind of file, the file, and the options of the commands."""

    kind = forms.ChoiceField(label=_("Kind of file"), choices=ImportUpload.Kind.choices)
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8 CSV with a header row, as the import commands read it."),
    )
    geocode = forms.BooleanField(
        label=_("Geocode the new towns"),
        required=False,
        help_text=_(
            "Partnership lists only: the towns the import creates without coordinates get "
            "them, with population and region, from GeoNames data."
        ),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("geocode") and cleaned.get("kind") not in uploads.GEOCODING_KINDS:
            self.add_error("geocode", _("Only partnership lists can be geocoded."))
        return cleaned


@admin.register(ImportRun)
class ImportRunAdmin(RefuseBadAddressMixin, admin.ModelAdmin):
    """What each import brought in, from the commands or a file imported here; written by
    the imports only.

    A run can be reverted ("Revert this import", on its page or as the list's action): a
    page lists what will go first, see :meth:`ImportRun.revert`.
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
    change_list_template = "admin/registry/importrun/change_list.html"
    change_form_template = "admin/registry/importrun/change_form.html"

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="registry_importrun_import"),
            path("upload/<int:pk>/", view(self.upload_view), name="registry_importrun_upload"),
            path("<int:pk>/revert/", view(self.revert_view), name="registry_importrun_revert"),
            *super().get_urls(),
        ]

    @admin.action(description=_("Revert this import"), permissions=["revert"])
    def revert_import(self, request, queryset):
        runs = list(queryset.order_by("-created", "-pk"))
        if request.POST.get("post") != "yes":  # first the confirmation
            return self._revert_confirmation(request, runs, action=True)
        with transaction.atomic():
            for run in runs:
                self._revert(request, run)
        return None

    def _revert(self, request, run):
        if run.reverted:
            self.message_user(
                request,
                _("“%(run)s” was reverted before; nothing was done.") % {"run": run},
                messages.WARNING,
            )
            return
        deleted = run.revert(request.user)
        self.log_change(request, run, "Reverted")
        self.message_user(request, _reverted_text(run, deleted), messages.SUCCESS)

    def _revert_confirmation(self, request, runs, *, action):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Revert this import?"),
            "previews": [revert_preview(run) for run in runs if not run.reverted],
            "reverted_before": [run for run in runs if run.reverted],
            "action": action,
            "selected": [run.pk for run in runs],
        }
        return TemplateResponse(
            request, "admin/registry/importrun/revert_confirmation.html", context
        )

    def revert_view(self, request, pk):
        """GET: what reverting the run will delete, and keep; POST: revert it."""
        if not self.has_revert_permission(request):
            raise PermissionDenied
        run = get_object_or_404(ImportRun, pk=pk)
        if request.method == "POST":
            self._revert(request, run)
            return redirect("admin:registry_importrun_changelist")
        return self._revert_confirmation(request, [run], action=False)

    def import_view(self, request):
        """The upload form; a valid file is kept and checked, then its report shown."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = ImportFileForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            file = form.cleaned_data["file"]
            upload = ImportUpload.objects.create(
                user=request.user,
                kind=form.cleaned_data["kind"],
                file_name=file.name,
                data=file.read(),
                geocode=form.cleaned_data["geocode"],
            )
            uploads.check(upload)
            return redirect("admin:registry_importrun_upload", upload.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import a file"),
            "form": form,
        }
        return TemplateResponse(
            request,
            "admin/registry/importrun/import_form.html",
            context,
            status=400 if form.errors else 200,
        )

    def upload_view(self, request, pk):
        """GET: the dry run's report, or the import's progress; POST: confirm the import."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        upload = get_object_or_404(
            ImportUpload.objects.select_related("user", "confirmed_by", "run"), pk=pk
        )
        if request.method == "POST":
            return self._confirm(request, upload)
        report = upload.report
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import of “%(file)s”") % {"file": upload.file_name},
            "upload": upload,
            "summary": [
                (SUMMARY_LABELS.get(label, label), value)
                for label, value in report.get("summary", [])
            ],
            "errors": report.get("errors", []),
            "errors_not_shown": report.get("error_count", 0) - len(report.get("errors", [])),
            "file_error": report.get("file_error", ""),
            "running": upload.state in (ImportUpload.State.PENDING, ImportUpload.State.RUNNING),
            "in_request": upload.rows_total <= settings.IMPORT_IN_REQUEST_ROWS,
        }
        return TemplateResponse(request, "admin/registry/importrun/upload.html", context)

    def _confirm(self, request, upload):
        if not upload.can_confirm():
            self.message_user(
                request,
                _(
                    "This file cannot be imported (again): it was imported before, or its "
                    "check found nothing to import."
                ),
                messages.ERROR,
            )
            return redirect("admin:registry_importrun_upload", upload.pk)
        if not uploads.start(upload, request.user):
            self.message_user(
                request, _("This file was confirmed before; nothing was done."), messages.WARNING
            )
            return redirect("admin:registry_importrun_upload", upload.pk)
        upload.refresh_from_db()
        if upload.state == ImportUpload.State.DONE and upload.run_id:
            self.message_user(
                request,
                _("Imported “%(file)s” as this run.") % {"file": upload.file_name},
                messages.SUCCESS,
            )
            return redirect("admin:registry_importrun_change", upload.run_id)
        if upload.state == ImportUpload.State.DONE:
            self.message_user(
                request,
                _("Nothing new in “%(file)s”: nothing was written.") % {"file": upload.file_name},
                messages.INFO,
            )
        elif upload.state in (ImportUpload.State.FAILED, ImportUpload.State.CHECKED):
            self.message_user(
                request,
                _("The import failed, nothing was written: %(error)s") % {"error": upload.error},
                messages.ERROR,
            )
        return redirect("admin:registry_importrun_upload", upload.pk)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_revert": self.has_revert_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def has_import_permission(self, request):
        return request.user.has_perm("registry.add_importupload")

    def has_revert_permission(self, request):
        return request.user.has_perm("registry.delete_partnership")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# The task worker's own table (django-tasks-db) is not the staff's: an upload's page shows
# its import's progress and outcome.
if admin.site.is_registered(DBTaskResult):
    admin.site.unregister(DBTaskResult)
