"""What each version in a record's history changed, as the history page shows it.

For each version, the fields whose values differ from the version before it, in the order of
the form, each with its label and its old and new value as a person reads them: a choice's
label, a related record's name, a partial date at its precision, "yes" or "no", "—" for
nothing. The first version says "created", a deletion "deleted".
"""

import datetime
from dataclasses import dataclass

from django.db import models
from django.template.defaultfilters import yesno
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from simple_history.template_utils import ObjDiffDisplay

NOTHING = "—"

# Values longer than this are cut around where the old and the new differ.
LONGEST = 100


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


def shown(field, version):
    """The value of ``field`` in ``version``, as a person reads it."""
    value = getattr(version, field.attname)
    if value is None or value == "":
        return NOTHING
    if field.many_to_one:
        related = getattr(version, field.name, None)  # joined by the history's queryset
        if related is None:
            return _("%(model)s #%(key)s (deleted)") % {
                "model": capfirst(field.related_model._meta.verbose_name),
                "key": value,
            }
        return str(related)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.BooleanField):
        return yesno(value)
    if hasattr(value, "display"):  # a partial date
        return value.display()
    if isinstance(value, datetime.datetime):
        return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")
    if isinstance(value, datetime.date):
        return formats.date_format(value, "DATE_FORMAT")
    return str(value)


def changes(fields, version, previous):
    """The :class:`Change` of each of ``fields`` that differs between ``previous`` and
    ``version``."""
    found = []
    for field in fields:
        if getattr(version, field.attname) == getattr(previous, field.attname):
            continue
        old, new = ObjDiffDisplay(max_length=LONGEST).common_shorten_repr(
            shown(field, previous), shown(field, version)
        )
        found.append(Change(capfirst(field.verbose_name), old, new))
    return found


def describe(model, versions, older):
    """Set ``changes`` (a list of :class:`Change`) and ``summary`` (a text, or "") on each
    of ``versions`` (newest first, as the history page lists them); ``older`` is the version
    before the last of them, None if that is the first. And ``shown``: the record as it was,
    by name, with the related records the history's query joined, each related record shared
    by the versions that name it (its own relations are then looked up once, not once per
    version)."""
    fields = [
        field
        for field in model.history.model.tracked_fields
        if field.editable and not field.primary_key
    ]
    related = {}
    for version in versions:
        record = version.instance
        for name, value in version._state.fields_cache.items():
            if value is not None:
                record._state.fields_cache[name] = related.setdefault((name, value.pk), value)
        version.shown = str(record)
    for version, previous in zip(versions, [*versions[1:], older], strict=True):
        version.changes, version.summary = [], ""
        if previous is None:
            # A record loaded or imported before every record had its first version may
            # begin with an edit.
            version.summary = _("created") if version.history_type == "+" else _("first known")
        elif version.history_type == "-":
            version.summary = _("deleted")
        else:
            version.changes = changes(fields, version, previous)
            if not version.changes:
                version.summary = _("no change")
