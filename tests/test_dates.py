"""Partial dates: as precise as the source, compared correctly as text."""

import datetime

import pytest
from conftest import municipality, partnership
from django.core.exceptions import ValidationError
from django.utils import translation

from registry.dates import PartialDate, PartialDateFormField, Precision, validate_not_far_future
from registry.models import Partnership


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("1988", "1988"),
        ("1988-11", "1988-11"),
        ("1980-05-22", "1980-05-22"),
        ("Nov 1988", "1988-11"),
        ("November 1988", "1988-11"),
        ("22 May 1980", "1980-05-22"),
        ("22. Mai 1980", "1980-05-22"),
        ("3 Jul 1958", "1958-07-03"),
        ("May 22, 1980", "1980-05-22"),
        ("22.5.1980", "1980-05-22"),
        ("11.1988", "1988-11"),
        ("  1952 ", "1952"),
        ("0836", "0836"),
    ],
)
def test_parse_reads_the_forms_sources_use(text, iso):
    assert PartialDate.parse(text) == iso


@pytest.mark.parametrize(
    "text",
    ["", "abc", "88", "1988-13", "31 Feb 1980", "1980-02-30", "Smarch 1980", "0000", "1988-1"],
)
def test_parse_refuses_what_is_not_a_date(text):
    with pytest.raises(ValueError):
        PartialDate.parse(text)


@pytest.mark.parametrize("stored", ["1970\n", "\u0661\u0669\u0667\u0660", "1970-0\u0665"])
def test_stored_form_is_plain_iso_with_ascii_digits_and_nothing_after(stored):
    with pytest.raises(ValueError):
        PartialDate(stored)


def test_precision_and_bounds():
    year, month, day = PartialDate("1988"), PartialDate("1988-02"), PartialDate("1980-05-22")
    assert [d.precision for d in (year, month, day)] == [
        Precision.YEAR,
        Precision.MONTH,
        Precision.DAY,
    ]
    assert (year.first_day, year.last_day) == (
        datetime.date(1988, 1, 1),
        datetime.date(1988, 12, 31),
    )
    assert (month.first_day, month.last_day) == (
        datetime.date(1988, 2, 1),
        datetime.date(1988, 2, 29),
    )
    assert (day.year, day.month, day.day) == (1980, 5, 22)


@pytest.mark.django_db
def test_the_database_orders_partial_dates_by_date_a_year_before_its_months():
    """Stored as text, partial dates sort by date in SQL, in any human spelling given."""
    given = ["1959", "3 Jul 1958", "1958", "Jul 1958", "31.12.1958", "December 1957"]
    town = municipality("Köln")
    for text in given:
        partnership(town, municipality("Lille", "FR"), start=text)
    ordered = Partnership.objects.order_by("start").values_list("start", flat=True)
    assert list(ordered) == ["1957-12", "1958", "1958-07", "1958-07-03", "1958-12-31", "1959"]
    first_days = [PartialDate(date).first_day for date in ordered]
    assert first_days == sorted(first_days)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", ["1988", "November 1988", "May 22, 1980"]),
        ("de", ["1988", "November 1988", "22. Mai 1980"]),
    ],
)
def test_display_at_precision_in_the_active_language(language, expected):
    with translation.override(language):
        shown = [PartialDate(text).display() for text in ("1988", "1988-11", "1980-05-22")]
    assert shown == expected


def test_far_future_is_refused():
    with pytest.raises(ValidationError) as error:
        validate_not_far_future("3000")
    assert error.value.messages == ["3000 lies too far in the future."]
    validate_not_far_future(str(datetime.date.today().year + 1))


def test_form_field_takes_human_input_and_gives_iso():
    field = PartialDateFormField(required=False)
    assert field.clean("22 November 1988") == "1988-11-22"
    assert field.clean("") is None
    with pytest.raises(ValidationError) as error:
        field.clean("31 Feb 1980")
    assert error.value.messages == ["Enter a date like 1988, Nov 1988, 22 May 1980 or 1980-05-22."]


@pytest.mark.django_db
def test_model_field_takes_human_input_stores_iso_and_reads_back_a_partial_date():
    field = Partnership._meta.get_field("start").formfield()
    value = field.clean("22 November 1988")
    created = partnership(municipality("Köln"), municipality("Indianapolis", "US"), start=value)
    created.refresh_from_db()
    assert (created.start, created.start.precision) == ("1988-11-22", Precision.DAY)
    assert Partnership.objects.filter(start__startswith="1988-11").get() == created
