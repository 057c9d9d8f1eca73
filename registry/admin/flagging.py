"""Flagging a record for review: the button on every change form, its page with the comment,
and the record's open flags on its change form."""

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registry.models import ReviewFlag


class FlagForm(forms.Form):
    comment = forms.CharField(
        label=gettext_lazy("What needs a review?"),
        widget=forms.Textarea(attrs={"rows": 6, "cols": 60}),
        error_messages={
            "required": gettext_lazy("Say what needs a review: the comment is required.")
        },
    )


class FlagMixin:
    """The "Flag for review" page of every record (``<key>/flag/``), for those who may add
    review flags (Reviewers and Editors) and view the record; and the record's open flags on
    its change form."""

    flag_template = "admin/flag_for_review.html"

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/flag/",
                self.admin_site.admin_view(self.flag_view),
                name=f"{opts.app_label}_{opts.model_name}_flag",
            ),
            *super().get_urls(),
        ]

    def has_flag_permission(self, request, obj=None):
        return request.user.has_perm("registry.add_reviewflag") and self.has_view_permission(
            request, obj
        )

    def flag_view(self, request, object_id):
        refused = self.refuse_nul(request)
        if refused:
            return refused
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_flag_permission(request, obj):
            raise PermissionDenied
        opts = self.model._meta
        change_url = reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
            args=[obj.pk],
            current_app=self.admin_site.name,
        )
        status = 200
        if request.method == "POST":
            form = FlagForm(request.POST)
            if form.is_valid():
                ReviewFlag.objects.create(
                    record=obj, comment=form.cleaned_data["comment"], created_by=request.user
                )
                self.message_user(
                    request,
                    _("%(record)s is flagged for review.") % {"record": obj},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(change_url)
            self.message_user(request, form.errors["comment"][0], messages.ERROR)
            status = 400
        else:
            form = FlagForm()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Flag for review: %(record)s") % {"record": obj},
            "opts": opts,
            "original": obj,
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, self.flag_template, context, status=status)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        if self.has_flag_permission(request):
            opts = self.model._meta
            extra_context["flag_url"] = reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_flag",
                args=[unquote(object_id)],
                current_app=self.admin_site.name,
            )
        # Read by the template, only if the record is there (one query).
        extra_context["review_flags"] = (
            ReviewFlag.objects.filter(
                content_type=ContentType.objects.get_for_model(self.model),
                object_id=unquote(object_id),
            )
            .open()
            .select_related("created_by")
        )
        return super().change_view(request, object_id, form_url, extra_context)
