"""Fast writers of Django's own markup: the same HTML, byte for byte, written in Python.

Django writes a form field, a ``<select>`` and its options through a template per piece; for
the filter forms (250 countries) and the ranking's 50 rows that took longer than the rest of a
page. Each writer here reproduces one piece of markup exactly and is tested against it
(``tests/test_fast_markup.py``), in both languages and with every kind of value escaped:

- :func:`template_text`: a value as ``{{ value }}`` writes it;
- :func:`attrs_html`: ``django/forms/widgets/attrs.html``;
- :class:`FastSelect`: Django's ``Select`` widget (``select.html``, ``select_option.html``);
- :class:`FastBoundField`: a field group (``django/forms/field.html`` and ``label.html``);
- :func:`ranking_rows`: the rows of ``templates/includes/ranking_rows.html``.
"""

import functools
import html

from django import forms
from django.forms import BoundField
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def attrs_html(attrs):
    """``django/forms/widgets/attrs.html``, in Python."""
    return "".join(
        f" {conditional_escape(name)}"
        if value is True
        else f' {conditional_escape(name)}="{escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _escape(value):
    """Django's ``escape()`` (the standard library's, on the text), without its lazy-string
    wrapper, which cost more than the escaping for 250 options."""
    return html.escape(str(value))


def template_text(value):
    """A value as ``{{ value }}`` writes it: localized, then escaped unless marked safe."""
    if not isinstance(value, str):
        value = localize(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return _escape(value)


class FastSelect(forms.Select):
    """Django's ``Select``, writing the same HTML in Python rather than through a template
    per ``<option>``: rendering a filter form's 250 countries through the templates takes
    longer than the rest of the page. The options are kept per process by what they show
    (:func:`_options`), so an unchanged list is written once, cache or no cache."""

    def render(self, name, value, attrs=None, renderer=None):
        # What get_context() and optgroups() make, without a dict per option.
        attrs = self.build_attrs(self.attrs, attrs)
        if self.allow_multiple_selected:
            attrs["multiple"] = True
        choices = tuple(
            (option_value, tuple(label) if isinstance(label, list) else label)
            for option_value, label in self.choices
        )
        shown = (choices, frozenset(self.format_value(value)), self.allow_multiple_selected)
        try:
            options = _options(*shown, get_language())
        except TypeError:  # a value or label that cannot be a key: written afresh
            options = _options.__wrapped__(*shown, get_language())
        html = f'<select name="{template_text(name)}"{attrs_html(attrs)}>{options}\n</select>'
        return mark_safe(html)  # noqa: S308  # nosec B308 B703  # every part escaped


@functools.lru_cache(maxsize=256)
def _options(choices, values, multiple, language):
    """The ``<option>`` elements of ``choices`` (``(value, label)`` pairs, or ``(group,
    pairs)``) with ``values`` selected, as Django's ``select.html`` writes them. ``language``
    is part of the key: a lazily translated label or a localized number reads differently in
    each."""
    html = []
    has_selected = False
    for option_value, option_label in choices:
        group = isinstance(option_label, tuple)
        if group:
            html.append(f'\n  <optgroup label="{template_text(option_value)}">')
            options = option_label
        else:
            options = [("" if option_value is None else option_value, option_label)]
        for subvalue, sublabel in options:
            selected = (not has_selected or multiple) and str(subvalue) in values
            has_selected |= selected
            html.append(
                f'\n  <option value="{_escape(subvalue)}"{" selected" if selected else ""}>'
                f"{template_text(sublabel)}</option>\n"
            )
        if group:
            html.append("\n  </optgroup>")
    return "".join(html)


class FastBoundField(BoundField):
    """Django's ``BoundField``, its field group (label, help text, errors, widget) written in
    Python as ``django/forms/field.html`` and ``label.html`` write it, rather than through
    two templates and an include per field: a filter form's five groups took 1.2 ms of an
    uncached ranking's 12. A field in a fieldset, or without an id, keeps Django's."""

    def as_field_group(self):
        if self.use_fieldset or not (self.field.widget.attrs.get("id") or self.auto_id):
            return super().as_field_group()
        label = self._label() if self.label else ""
        help_text = ""
        if self.help_text:
            help_id = f' id="{template_text(self.auto_id)}_helptext"' if self.auto_id else ""
            help_text = f'<div class="helptext"{help_id}>{self.help_text}</div>'
        errors = str(self.errors) if self.errors else ""
        # The template's lines, stripped as Django's form renderer strips them.
        return mark_safe(f"\n  {label}\n\n{help_text}\n{errors}\n{self}\n".strip())  # noqa: S308  # nosec B308 B703  # every part escaped

    def _label(self):
        """``label_tag()``, for a field with an id."""
        contents = self.label
        suffix = self.field.label_suffix
        if suffix is None:
            suffix = self.form.label_suffix
        if suffix and contents and contents[-1] not in _(":?.!"):
            contents = format_html("{}{}", contents, suffix)
        widget = self.field.widget
        attrs = {}
        id_for_label = widget.id_for_label(widget.attrs.get("id") or self.auto_id)
        if id_for_label:
            attrs["for"] = id_for_label
        if self.field.required and hasattr(self.form, "required_css_class"):
            attrs["class"] = self.form.required_css_class
        return f"<label{attrs_html(attrs)}>{template_text(contents)}</label>"


def ranking_rows(municipalities):
    """The ranking table's rows, as ``includes/ranking_rows.html`` writes them for
    ``municipalities`` (each with ``rank`` and ``partners``): 50 rows of five ``{{ }}`` each
    take about a sixth of the time through the template."""
    return SafeString(  # nosec B703  # every value escaped by template_text
        "".join(
            f'\n      <tr><td class="number">{template_text(town.rank)}</td>'
            f'<td><a href="{template_text(town.get_absolute_url())}">{template_text(town.name)}'
            f"</a></td><td>{template_text(town.country.name)}</td>"
            f'<td class="number">{template_text(town.partners)}</td></tr>\n      '
            for town in municipalities
        )
    )
