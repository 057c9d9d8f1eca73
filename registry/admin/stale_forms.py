"""A change form (or a history's revert form) saved after someone else saved the same record or
one of its inline rows is refused with a message saying who and when, instead of silently
undoing their work.
"""

import hashlib
import json
from datetime import datetime

from django import forms
from django.db import connections
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

# The hidden field of a change form that carries what the record was when the form was made.
STATE_FIELD = "state_fingerprint"


class StaleFormMixin:
    """Refuse to save a change form opened before someone else saved the record.

    The change form carries, in a hidden field, a fingerprint of what it was opened from:
    every editable field and many-to-many choice of the record and of each row of its
    inlines, and when it was opened. On saving, the stored state is read again under a row
    lock, in the transaction the admin saves in, so of two staff posting the same form at once
    the second waits for the first and then sees its changes. If the fingerprint no longer
    matches, nothing is saved and the form says who changed the record and when, as far as
    its history tells. A stale inline row counts too: saving it would undo the other's edit
    of that row, or show a list of rows that is no longer true.
    """

    def get_form(self, request, obj=None, change=False, **kwargs):
        # Django asks with ``fields=None`` only to learn the record's fields (the fingerprint
        # is none of them); otherwise any form of a stored record: the change form, and the
        # history's revert form, which django-simple-history asks for without ``change``.
        probing = "fields" in kwargs and kwargs["fields"] is None
        form = super().get_form(request, obj, change=change, **kwargs)
        if probing or obj is None or obj.pk is None or not self.has_change_permission(request, obj):
            return form
        model_admin = self

        class StaleCheckedForm(form):
            state_fingerprint = forms.CharField(widget=forms.HiddenInput, required=False)

            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                if not self.is_bound:
                    self.initial[STATE_FIELD] = model_admin.fingerprint(request, self.instance)

            def clean(self):
                cleaned_data = super().clean()
                model_admin.refuse_stale(request, self)
                return cleaned_data

        return StaleCheckedForm

    def refuse_stale(self, request, form):
        """Add the conflict message to ``form`` unless the record is as it was when opened.

        Called while the form is validated, inside the admin's transaction: the row locks
        taken here are held until the save commits.
        """
        obj = form.instance
        posted = form.cleaned_data.get(STATE_FIELD) or ""
        if not posted:
            form.add_error(
                None,
                gettext(
                    "This form came without the record of what it was opened from, so whether "
                    "someone else saved this %(model)s meanwhile cannot be told. Nothing has "
                    "been saved: reload the page, then make your changes again."
                )
                % {"model": self.model._meta.verbose_name},
            )
            return
        digest, _, opened = posted.partition(" ")
        kept, state = self._stored_state(request, obj, lock=True)
        if kept is not None and digest == self._digest(state):
            # What the registry keeps itself (the partner count) may have changed since the
            # object was read; save what is stored now, not that older value.
            for name, value in kept.items():
                setattr(obj, name, value)
            return
        form.add_error(None, self._conflict_message(request, obj, opened))

    def fingerprint(self, request, obj):
        """What the form is opened from, as ``<digest> <time opened>``."""
        _, state = self._stored_state(request, obj)
        return f"{self._digest(state)} {timezone.now().isoformat()}"

    def _parent_links(self, request, obj):
        """(inline model, its foreign key to this model) for every inline of the form."""
        links = []
        for inline in self.get_inline_instances(request, obj):
            if inline.fk_name:
                link = inline.model._meta.get_field(inline.fk_name)
            else:
                link = next(
                    field
                    for field in inline.model._meta.concrete_fields
                    if field.many_to_one and issubclass(self.model, field.related_model)
                )
            links.append((inline.model, link))
        return links

    def _stored_state(self, request, obj, lock=False):
        """What staff edit on the form, as stored: the record's row, then the rows of each
        inline, each with its many-to-many choices; and apart from that, the fields of the
        record the registry keeps itself (``None`` if the record is gone)."""
        kept_fields = [f.attname for f in self.model._meta.concrete_fields if not f.editable]
        own = self._rows(self.model._default_manager.filter(pk=obj.pk), lock, kept_fields)
        kept = {name: own[0].pop(name) for name in kept_fields} if own else None
        state = [own]
        for model, link in self._parent_links(request, obj):
            state.append(self._rows(model._default_manager.filter(**{link.name: obj.pk}), lock))
        return kept, state

    @staticmethod
    def _rows(queryset, lock, kept_fields=()):
        """Every editable field and many-to-many choice of each row, by primary key."""
        model = queryset.model
        fields = [f.attname for f in model._meta.concrete_fields if f.editable]
        if lock:
            connection = connections[queryset.db]
            no_key = connection.features.has_select_for_no_key_update
            # FOR NO KEY UPDATE: rows being added elsewhere may still point at this one.
            queryset = queryset.select_for_update(no_key=no_key)
        rows = list(queryset.order_by("pk").values("pk", *fields, *kept_fields))
        pks = [row["pk"] for row in rows]
        for field in model._meta.many_to_many:
            if not field.editable:
                continue
            through = field.remote_field.through
            source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
            links = through._default_manager.filter(**{f"{source}__in": pks})
            by_row = {}
            for row, chosen in links.order_by(source, target).values_list(source, target):
                by_row.setdefault(row, []).append(chosen)
            for row in rows:
                row[field.name] = by_row.get(row["pk"], [])
        return rows

    @staticmethod
    def _digest(state):
        text = json.dumps(state, default=str, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def _conflict_message(self, request, obj, opened):
        """Who changed the record or one of its inline rows after the form was opened, and
        when, if the history tells; otherwise that someone did."""
        latest = None
        histories = [(self.model, "pk")] + [
            (model, link.attname) for model, link in self._parent_links(request, obj)
        ]
        for model, name in histories:
            if not hasattr(model, "history"):
                continue
            pk_name = model._meta.pk.attname if name == "pk" else name
            record = (
                model.history.filter(**{pk_name: obj.pk})
                .select_related("history_user")
                .order_by("-history_date")
                .first()
            )
            if record and (latest is None or record.history_date > latest.history_date):
                latest = record
        try:
            opened = datetime.fromisoformat(opened)
        except ValueError:
            opened = None
        values = {"model": self.model._meta.verbose_name}
        if latest and latest.history_user and opened and latest.history_date > opened:
            values["user"] = latest.history_user.get_username()
            values["time"] = date_format(timezone.localtime(latest.history_date), "DATETIME_FORMAT")
            return (
                gettext(
                    "%(user)s saved this %(model)s at %(time)s, after you opened it. Your changes "
                    "have not been saved: reload the page to see theirs, then make yours again."
                )
                % values
            )
        return (
            gettext(
                "Someone else saved this %(model)s after you opened it. Your changes have not been "
                "saved: reload the page to see theirs, then make yours again."
            )
            % values
        )
