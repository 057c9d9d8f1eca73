"""Dates as precise as their source: a year, a month or a day.

A :class:`PartialDate` is an ISO 8601 date of reduced precision ("1988", "1988-11",
"1988-11-22"). It is a ``str``, so it is stored in one column, sorts and compares correctly
as text on every database ("1958" < "1958-07" < "1958-07-03" < "1959"), and reads in a fixture
exactly as the record gives it.
"""

import calendar
import datetime
import re

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

# ASCII digits only, and nothing after the date (not even a newline, which "$" would allow)
ISO_PATTERN = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?\Z", re.ASCII)

MONTHS = {
    name: number
    for number in range(1, 13)
    for name in (
        calendar.month_name[number].lower(),
        calendar.month_abbr[number].lower(),
    )
}
# German month names, so staff can type "Mai 1980" as the sources write it.
MONTHS.update(
    {
        "januar": 1,
        "jänner": 1,
        "februar": 2,
        "märz": 3,
        "maerz": 3,
        "mai": 5,
        "juni": 6,
        "juli": 7,
        "okt": 10,
        "oktober": 10,
        "dez": 12,
        "dezember": 12,
        "sept": 9,
    }
)

# Far enough ahead for a planned signing, near enough to catch a typo such as 3000.
YEARS_AHEAD = 10


class Precision(models.TextChoices):
    YEAR = "year", _("year")
    MONTH = "month", _("month")
    DAY = "day", _("day")


class PartialDate(str):
    """An ISO date string of year, month or day precision."""

    __slots__ = ()

    def __new__(cls, value):
        match = ISO_PATTERN.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a date like 1988, 1988-11 or 1988-11-22")
        year, month, day = (int(part) if part else None for part in match.groups())
        if year == 0:
            raise ValueError("there is no year 0")
        if month is not None and not 1 <= month <= 12:
            raise ValueError(f"{value!r} has no month {month}")
        if day is not None:
            try:
                datetime.date(year, month, day)
            except ValueError:
                raise ValueError(f"{value!r} is not a date in the calendar") from None
        return super().__new__(cls, value)

    @classmethod
    def parse(cls, text):
        """Read the forms people write: "1988", "Nov 1988", "22 May 1980", "22.5.1980", ISO.

        Raises ValueError with a readable reason.
        """
        text = " ".join(str(text).replace(",", " ").split())
        if ISO_PATTERN.match(text):
            return cls(text)
        # 22.5.1980 / 5.1980 (German numeric forms)
        match = re.fullmatch(r"(?:(\d{1,2})\.\s?)?(\d{1,2})\.\s?(\d{4})", text)
        if match:
            day, month, year = match.groups()
            return cls._build(int(year), int(month), int(day) if day else None, text)
        # 22 May 1980 / 22. Mai 1980 / May 1980 / November 1988
        match = re.fullmatch(r"(?:(\d{1,2})\.?\s)?([^\W\d_]+)\.?\s(\d{4})", text)
        if match:
            day, month_name, year = match.groups()
            month = MONTHS.get(month_name.lower())
            if month is None:
                raise ValueError(f"{month_name!r} is not a month")
            return cls._build(int(year), month, int(day) if day else None, text)
        # May 22 1980
        match = re.fullmatch(r"([^\W\d_]+)\.?\s(\d{1,2})\s(\d{4})", text)
        if match:
            month_name, day, year = match.groups()
            month = MONTHS.get(month_name.lower())
            if month is None:
                raise ValueError(f"{month_name!r} is not a month")
            return cls._build(int(year), month, int(day), text)
        raise ValueError(f"{text!r} is not a date like 1988, Nov 1988 or 22 May 1980")

    @classmethod
    def _build(cls, year, month, day, text):
        if not 1 <= month <= 12:
            raise ValueError(f"{text!r} has no month {month}")
        iso = f"{year:04d}-{month:02d}" if day is None else f"{year:04d}-{month:02d}-{day:02d}"
        try:
            return cls(iso)
        except ValueError:
            raise ValueError(f"{text!r} is not a date in the calendar") from None

    @property
    def precision(self):
        return {4: Precision.YEAR, 7: Precision.MONTH}.get(len(self), Precision.DAY)

    @property
    def year(self):
        return int(self[:4])

    @property
    def month(self):
        return int(self[5:7]) if len(self) >= 7 else None

    @property
    def day(self):
        return int(self[8:10]) if len(self) == 10 else None

    @property
    def first_day(self):
        return datetime.date(self.year, self.month or 1, self.day or 1)

    @property
    def last_day(self):
        month = self.month or 12
        day = self.day or calendar.monthrange(self.year, month)[1]
        return datetime.date(self.year, month, day)

    def display(self):
        """The date as a reader expects it, at its precision, in the active language."""
        if self.precision == Precision.YEAR:
            return str(self.year)
        if self.precision == Precision.MONTH:
            return formats.date_format(self.first_day, "YEAR_MONTH_FORMAT")
        return formats.date_format(self.first_day, "DATE_FORMAT")

    def __repr__(self):
        return f"PartialDate({str(self)!r})"


# "No end before start": the rule's one home, for Python (a form, the importer) and for the
# database's check constraints.


def ends_before(end, start):
    """Whether the partial date ``end`` lies before ``start``, at the precision of each: an
    end that is a prefix of the start ("1980" against "1980-05-22") lies in the same period
    and is not before it. Partial dates compare as ISO text."""
    return not (end >= start or start.startswith(end))


def end_not_before_start(start, end):
    """Q for "the field ``end`` is not before the field ``start``", as :func:`ends_before`
    reads it, for a check constraint; either empty passes."""
    return (
        models.Q(**{f"{end}__isnull": True})
        | models.Q(**{f"{start}__isnull": True})
        | models.Q(**{f"{end}__gte": models.F(start)})
        | models.Q(**{f"{start}__startswith": models.F(end)})
    )


def validate_not_far_future(value):
    if value and PartialDate(value).year > timezone.now().year + YEARS_AHEAD:
        raise ValidationError(
            _("%(value)s lies too far in the future."),
            code="future",
            params={"value": value},
        )


class PartialDateFormField(forms.CharField):
    default_error_messages = {
        "invalid": _("Enter a date like 1988, Nov 1988, 22 May 1980 or 1980-05-22."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault(
            "help_text", _("As precise as the source: 1988, Nov 1988 or 22 May 1980.")
        )
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, PartialDate):
            return str(value)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return PartialDate.parse(value)
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class PartialDateField(models.CharField):
    """A model field holding a :class:`PartialDate` as ISO text."""

    description = _("Date of year, month or day precision")

    def __init__(self, *args, **kwargs):
        kwargs["max_length"] = 10
        super().__init__(*args, **kwargs)
        self.validators.append(validate_not_far_future)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("max_length", None)
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        return None if value is None else PartialDate(value)

    def to_python(self, value):
        if value is None or isinstance(value, PartialDate):
            return value
        if value == "":
            return None
        try:
            return PartialDate.parse(value)
        except ValueError as error:
            raise ValidationError(str(error), code="invalid") from None

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return None
        return str(self.to_python(value))

    def formfield(self, **kwargs):
        # The form takes "22 November 1988"; the column holds its 10-character ISO form.
        return super().formfield(**{"form_class": PartialDateFormField, **kwargs, "max_length": 40})
