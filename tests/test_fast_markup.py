"""The fast writers of Django's own markup write it byte for byte (registry.fast_markup)."""

import pytest
from conftest import municipality
from django import forms
from django.forms import BoundField
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe

from registry.fast_markup import FastSelect, ranking_rows
from registry.filters import (
    AwardFilter,
    FilterForm,
    MunicipalityFilter,
    NetworkFilter,
    PartnershipFilter,
    RankingFilter,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "choices, value, attrs",
    [
        ([("", "any"), ("DE", "Germany"), ("FR", "France")], "FR", {"id": "id_country"}),
        ([("", "any"), ("DE", "Germany")], None, {}),
        (
            [("a&b", 'Tom & "Jerry" <b>'), (1970, 1970), ("x", mark_safe("<i>safe</i>"))],
            "a&b",
            {"id": 'x"y', "required": True, "disabled": False, "data-n": 3},
        ),
        ([("Europe", [("DE", "Germany"), ("FR", "France")]), ("", "none")], "DE", {}),
        ([(None, "none"), ("DE", "Germany"), ("DE", "Germany again")], "DE", {"id": "c"}),
        ([(None, "none"), ("DE", "Germany")], "", {}),
        ([("DE", "Germany"), ("FR", "France")], ["FR", "DE"], {}),
    ],
)
def test_the_fast_drop_down_writes_what_djangos_writes(choices, value, attrs):
    assert FastSelect(choices=choices).render("country", value, attrs) == forms.Select(
        choices=choices
    ).render("country", value, attrs)


class _Odd(FilterForm):
    required_css_class = "required"
    name = forms.CharField(label="Name?", help_text="<b>bold</b> & more", max_length=3)
    choice = forms.ChoiceField(
        choices=[("a", "A & B")], label="Pick <one>", label_suffix=" →", required=False
    )
    radio = forms.ChoiceField(choices=[("x", "X")], widget=forms.RadioSelect, required=False)
    own_id = forms.CharField(widget=forms.TextInput(attrs={"id": "mine"}), required=False)
    unlabelled = forms.CharField(label="", required=False)


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize(
    "form_class", [MunicipalityFilter, PartnershipFilter, NetworkFilter, AwardFilter, RankingFilter]
)
@pytest.mark.parametrize(
    "data",
    [
        {},
        {"country": "de", "on": "1970", "q": "Köln", "sort": "name"},
        {"country": "ZZ", "kind": "bogus", "status": "x", "domestic": "maybe", "on": "abc"},
        {"founded_from": "x", "founded_to": "1900", "theme": "nope", "level": "gold"},
    ],
)
def test_the_fast_field_groups_write_what_djangos_write(form_class, data, language):
    with translation.override(language):
        form = form_class(data).form
        form.is_valid()
        for field in form:
            assert field.as_field_group() == BoundField.as_field_group(field), field.name


@pytest.mark.parametrize("data", [{}, {"name": "toolong", "choice": "z", "radio": "y"}])
def test_the_fast_field_groups_write_what_djangos_write_for_any_field(data):
    """Required fields with their class, a label ending in punctuation, a label suffix of
    the field's own, help text as HTML, a fieldset (Django's own), an id of the widget's, no
    label at all."""
    form = _Odd(data)
    form.is_valid()
    for field in form:
        assert field.as_field_group() == BoundField.as_field_group(field), field.name
    assert 'class="required"' in form["name"].as_field_group()


def test_every_filter_forms_plain_drop_downs_are_fast():
    for filterset_class in (MunicipalityFilter, PartnershipFilter, RankingFilter):
        form = filterset_class({}).form
        assert not [name for name, f in form.fields.items() if type(f.widget) is forms.Select]
        assert any(isinstance(f.widget, FastSelect) for f in form.fields.values())


@pytest.mark.parametrize("grouping", [False, True])
@pytest.mark.parametrize("language", ["en", "de"])
def test_the_ranking_rows_written_in_python_are_what_their_template_writes(
    settings, language, grouping
):
    """The ranking's rows, written in Python for speed: the same HTML as
    ``includes/ranking_rows.html``, escaping, numbers in the language's format and links
    included."""
    settings.USE_THOUSAND_SEPARATOR = grouping
    odd = municipality('Saint-Ouen & <Co> "Ré"', "FR", slug="saint-ouen")
    koeln = municipality("Köln", slug="koln")
    odd.rank, odd.partners = 1234, 1001
    koeln.rank, koeln.partners = 1, 24
    with translation.override(language):
        written = ranking_rows([odd, koeln])
        assert written == render_to_string("includes/ranking_rows.html", {"rows": [odd, koeln]})
        assert "&amp; &lt;Co&gt; &quot;Ré&quot;" in ranking_rows([odd])
    if grouping:
        assert ("1,234" if language == "en" else "1.234") in written
