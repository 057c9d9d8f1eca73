"""What the models show, quickly: names in the active language, URLs and choice labels.

A town's page or a timeline shows hundreds of records: these give the text that Django's own
``reverse()`` and ``get_FOO_display()`` give, without their cost on every call.
"""

import re

from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable
from django.utils.translation import get_language


def localized(obj, field):
    """``obj``'s ``field`` in the active language (``name_de`` for ``name`` in German), or in
    English (``name_en``) where there is no such variant or it is empty."""
    language = (get_language() or "en")[:2]
    return getattr(obj, f"{field}_{language}", "") or getattr(obj, f"{field}_en")


def name_choices(queryset, value_field):
    """``(value, name)`` of every country or theme in ``queryset``: ``value_field``'s value and
    the name as ``str()`` gives it in the active language. Read as plain values, not a model
    instance each: a filter form's 281 countries take 0.4 ms so."""
    language = (get_language() or "en")[:2]
    local = f"name_{language}"
    if local not in {field.name for field in queryset.model._meta.concrete_fields}:
        local = "name_en"
    rows = queryset.values_list(value_field, local, "name_en")
    return [(value, name or english) for value, name, english in rows]


_URL_SHAPES = {}
_SENTINEL = "7391846205"  # a slug and an integer, found once in a reversed URL
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")


def quick_reverse(name, value):
    """``reverse(name, args=[value])`` for a URL with one slug or integer: reversed once per
    URL name, script prefix and URLconf, then filled in (a town's page links to hundreds of
    partnerships, and reversing each link would take a fifth of the page's time)."""
    value = str(value)
    if not _SLUG.fullmatch(value):
        return reverse(name, args=[value])
    shape_key = (name, get_script_prefix(), get_urlconf())
    shape = _URL_SHAPES.get(shape_key)
    if shape is None:
        url = reverse(name, args=[_SENTINEL])
        at = url.rindex(_SENTINEL)
        shape = _URL_SHAPES[shape_key] = (url[:at], url[at + len(_SENTINEL) :])
    return f"{shape[0]}{value}{shape[1]}"


class QuickDisplay:
    """``get_<field>_display()`` from a table of labels made once per field.

    Django's own builds a dict of every choice on each call, and hashing each (lazy) label
    translates it: on a timeline of 675 events that would be 40% of the page. The table keeps the
    labels lazy, so each call still answers in the active language.
    """

    def _get_FIELD_display(self, field):  # noqa: N802  # Django's name, overridden
        labels = field.__dict__.get("_display_labels")
        if labels is None:
            labels = {make_hashable(value): label for value, label in field.flatchoices}
            field.__dict__["_display_labels"] = labels
        value = getattr(self, field.attname)
        return force_str(labels.get(make_hashable(value), value), strings_only=True)
