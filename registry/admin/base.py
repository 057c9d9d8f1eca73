"""What every registry admin shares: its history (django-simple-history, revertable), the
refusal of addresses it cannot use, the stale-form check, searches that ignore case and accents,
and partial dates shown as the sources give them.
"""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import (
    PermissionDenied,
    ValidationError,
)
from django.db import models, router, transaction
from django.db.models import Q
from django.http import Http404
from simple_history.admin import SimpleHistoryAdmin

from registry.admin.refusals import RefuseBadAddressMixin, refuse_nul_term
from registry.admin.stale_forms import StaleFormMixin


def partial_date_column(field, description):
    """A changelist column showing a :class:`PartialDate` at its precision, sorted by the field.

    "1988", "November 1988" or "May 22, 1980" instead of the stored ISO text.
    """

    @admin.display(description=description, ordering=field)
    def column(self, obj):
        value = getattr(obj, field)
        return value.display() if value else None

    return column


class HistoryAdmin(RefuseBadAddressMixin, StaleFormMixin, SimpleHistoryAdmin):
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
        if request.method == "POST" and not self.has_change_history_permission(request):
            raise PermissionDenied
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
