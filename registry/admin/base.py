"""What every registry admin shares: its history (django-simple-history, revertable), the
refusal of addresses it cannot use, the stale-form check, searches that ignore case and accents,
and partial dates shown as the sources give them.
"""

import datetime

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.contrib.admin.utils import unquote
from django.core.exceptions import (
    PermissionDenied,
    ValidationError,
)
from django.db import models, router, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from simple_history.admin import SimpleHistoryAdmin

from registry.admin import versions
from registry.admin.flagging import FlagMixin
from registry.admin.refusals import RefuseBadAddressMixin, refuse_nul_term
from registry.admin.stale_forms import StaleFormMixin

# How long those who may change a record (Editors) may delete one they entered themselves.
DELETE_OWN_WITHIN = datetime.timedelta(days=1)


def partial_date_column(field, description):
    """A changelist column showing a :class:`PartialDate` at its precision, sorted by the field.

    "1988", "November 1988" or "May 22, 1980" instead of the stored ISO text.
    """

    @admin.display(description=description, ordering=field)
    def column(self, obj):
        value = getattr(obj, field)
        return value.display() if value else None

    return column


class HistoryAdmin(FlagMixin, RefuseBadAddressMixin, StaleFormMixin, SimpleHistoryAdmin):
    """The history admin, with reverting reserved for those who may change.

    django-simple-history shows the revert form to anyone who may view the object and saves
    whatever is posted to it; a Reviewer (view only) must not be able to revert. The history
    page says what each version changed (``registry.admin.versions``); a revert records the
    version it went back to as its reason. Those who may change a record but not delete
    (Editors) may delete one they entered themselves, within :data:`DELETE_OWN_WITHIN`; the
    record's first version says who entered it and when. Every change form has the button
    "Flag for review" and lists the record's open flags (``registry.admin.flagging``).
    """

    actions = ["delete_selected"]

    def has_delete_permission(self, request, obj=None):
        if super().has_delete_permission(request, obj):
            return True
        if not self.has_change_permission(request, obj):
            return False
        # Without a record: whether the delete action may be offered (it refuses what it
        # may not delete, with a message).
        return obj is None or obj.pk in self.entered_recently(request, [obj.pk])

    def entered_recently(self, request, keys):
        """Those of the records ``keys`` whose first version was written by ``request``'s
        user less than :data:`DELETE_OWN_WITHIN` ago (one query)."""
        pk_name = self.model._meta.pk.attname
        first = {}
        for key, history_type, user_id, date in (
            self.model.history.filter(**{f"{pk_name}__in": keys})
            .order_by(pk_name, "history_date", "history_id")
            .values_list(pk_name, "history_type", "history_user_id", "history_date")
        ):
            first.setdefault(key, (history_type, user_id, date))
        since = timezone.now() - DELETE_OWN_WITHIN
        return {
            key
            for key, (history_type, user_id, date) in first.items()
            if history_type == "+" and user_id == request.user.pk and date > since
        }

    @admin.action(
        permissions=["delete"], description=gettext_lazy("Delete selected %(verbose_name_plural)s")
    )
    def delete_selected(self, request, queryset):
        """Django's action, which first refuses, with a message, a selection that holds a
        record the user may not delete (an Editor's: one not entered by them in the last
        day)."""
        if not super().has_delete_permission(request):
            keys = list(queryset.values_list("pk", flat=True))
            refused = set(keys) - self.entered_recently(request, keys)
            if refused:
                names = ", ".join(str(obj) for obj in queryset.filter(pk__in=refused))
                self.message_user(
                    request,
                    ngettext(
                        "Nothing was deleted: you may delete only what you entered yourself "
                        "in the last 24 hours, which %(names)s is not.",
                        "Nothing was deleted: you may delete only what you entered yourself "
                        "in the last 24 hours, which %(names)s are not.",
                        len(refused),
                    )
                    % {"names": names},
                    messages.ERROR,
                )
                return None
        return delete_selected(self, request, queryset)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        """What each version on the page changed, the last one's against the version before
        it (one query, on a page that is not the last)."""
        page = historical_records
        older = None
        if page.has_next():
            older = page.paginator.object_list[page.end_index()]
        versions.describe(self.model, list(page), older)

    def save_model(self, request, obj, form, change):
        reverted = getattr(request, "reverting_to", None)
        if reverted is not None:
            obj._change_reason = _("Reverted to the version of %(date)s") % {
                "date": formats.date_format(timezone.localtime(reverted), "DATETIME_FORMAT")
            }
        super().save_model(request, obj, form, change)

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

    @staticmethod
    def _check_key(model, value):
        """A 404 for an address whose key is not one ``model`` can have ("abc" for a number):
        django-simple-history looks it up as it is, a ValueError and a 500."""
        try:
            model._meta.pk.to_python(unquote(value))
        except ValidationError:
            raise Http404 from None

    def history_view(self, request, object_id, extra_context=None):
        self._check_key(self.model, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        refused = self.refuse_nul(request)
        if refused:
            return refused
        self._check_key(self.model, object_id)
        self._check_key(self.model.history.model, version_id)
        if request.method == "POST":
            if not self.has_change_history_permission(request):
                raise PermissionDenied
            # Its date, for the reason of the version the revert writes (save_model).
            request.reverting_to = (
                self.model.history.filter(history_id=unquote(version_id))
                .values_list("history_date", flat=True)
                .first()
            )
        # In one transaction, as the change form's view: the stale check locks the record's
        # rows until the reverted version is saved.
        with transaction.atomic(using=router.db_for_write(self.model)):
            return super().history_form_view(request, object_id, version_id, extra_context)


class QuerySetSearchMixin:
    """Search through the model's own ``QuerySet.search()``: folded, over every name.

    ``search_fields`` stays set because the admin requires it for autocomplete targets;
    the matching itself is the queryset's.
    """

    def get_search_results(self, request, queryset, search_term):
        refuse_nul_term(search_term)
        if not search_term.strip():
            return queryset, False
        return queryset.search(search_term), False


class RelatedSearchMixin:
    """Search a row by the records it belongs to, through their ``QuerySet.search()``.

    A member is found by its town's or its partnership's names, folded, as those are.
    """

    search_related = []

    def get_search_results(self, request, queryset, search_term):
        refuse_nul_term(search_term)
        if not search_term.strip():
            return queryset, False
        found = Q()
        for name in self.search_related:
            related = self.model._meta.get_field(name).related_model
            found |= Q(**{f"{name}__in": related.objects.search(search_term).values("pk")})
        return queryset.filter(found), False
