"""Refusing an admin address a page cannot use, with a 400 in the admin's layout and a message
naming the parameter: a NUL character anywhere (no record can hold one, and PostgreSQL refuses
to look one up), a list's lookup of the wrong type or range ("id__gte=abc", a date hierarchy's
year 9999), an add form's initial value for a relation that is no record's key ("first=abc").
"""

import copy
from datetime import UTC, datetime, timedelta

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG, IGNORED_PARAMS, PAGE_VAR
from django.core.exceptions import (
    BadRequest,
    FieldDoesNotExist,
    FieldError,
    ValidationError,
)
from django.db import DatabaseError, router, transaction
from django.http import QueryDict
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext

NUL = "\x00"


def nul_parameter(query):
    """The first parameter of ``query`` (a QueryDict) with a NUL character in its name or in
    one of its values, as the address writes it ("country", "%00"); ``None`` if there is none."""
    for name, values in query.lists():
        if NUL in name or any(NUL in value for value in values):
            return name.replace(NUL, "%00")
    return None


def refuse_nul_term(term):
    """Refuse a search with a NUL character (a 400): no name can hold one, and PostgreSQL
    refuses the query ("A string literal cannot contain NUL (0x00) characters")."""
    if NUL in term:
        raise BadRequest("The search term has a NUL character (%00); no name can contain one.")


class BadParameter(Exception):
    """A parameter of the address that a view cannot use: refused with a 400 and ``message``."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


# What a changelist raises for a value it cannot look up: Django's own verdict, and what a
# value of the wrong type or range does on its way to the database ("abc" for a number
# compared as a number, 2**70 on SQLite, a "__range" of one value, a broken "__regex", the
# date hierarchy's year 9999 or 1, which leaves the range of dates).
LOOKUP_ERRORS = (
    IncorrectLookupParameters,
    DatabaseError,
    FieldError,
    ValidationError,
    ValueError,
    TypeError,
    OverflowError,
    IndexError,
)


# What a changelist's address carries besides its filters: the search, sorting, paging...
NOT_LOOKUPS = {*IGNORED_PARAMS, PAGE_VAR, ERROR_FLAG}


class _DiscardedMessages:
    """Where the messages of a changelist built only to find a bad parameter go."""

    def add(self, level, message, extra_tags=""):
        pass


def bad_keys(field, values, using):
    """Whether a value of ``values`` (text from the address) is not the key of a record that
    the relation ``field`` can point to: not a key at all ("abc"), out of the key's range
    (2**70: SQLite cannot even ask), or of no record (-1, an unknown id). Empty ones are none:
    the form leaves them out."""
    target = field.remote_field.model._meta.pk if field.many_to_many else field.target_field
    keys = set()
    for value in values:
        if value == "":
            continue
        try:
            key = target.to_python(value)
            target.run_validators(key)
        except ValidationError:
            return True
        keys.add(key)
    manager = field.remote_field.model._base_manager.using(using)
    return bool(keys) and manager.filter(**{f"{target.attname}__in": keys}).count() < len(keys)


class RefuseBadAddressMixin:
    """Answer a request whose address the view cannot use with a 400 and a message naming the
    parameter, instead of a 500 or a page that silently shows something else.

    A NUL character in any parameter is refused before anything is looked up. No record can
    hold one: forms refuse it and PostgreSQL cannot store it. So every value a view reads from
    the address is checked at once: list filters, the search, the date hierarchy, the
    changelist's own field lookups, sorting and paging, a form's initial values. PostgreSQL
    refuses a query carrying one ("A string literal cannot contain NUL (0x00) characters"),
    which was a 500; SQLite silently found nothing.

    A changelist parameter it cannot use (a date hierarchy's "created__year=abc" or 9999, a
    lookup of the wrong type such as "id__gte=abc", a page past the last): Django sent some of
    them to the unfiltered list (``?e=1``) without a word and others to a 500; the parameter
    is found by building the list again from ever shorter beginnings of the address (only
    when it failed). An add form's initial value for a relation that is no record's key
    ("first=abc", 2**70, an unknown id) was a 500 in the autocomplete widget.

    The autocomplete view is the admin site's: it reaches a model admin only through the
    searched model's ``get_search_results``, which refuses such a term with Django's 400 page
    (:func:`refuse_nul_term`; the picker says the results could not be loaded). The search
    mixins below come first in their admins' order, so they call it themselves. A JSON answer
    would need an admin site of our own (``AdminSite.autocomplete_view``: a model admin has
    had none since Django 3.2) or a ``handler400`` in the URLconf: what it raises is all a
    model admin can give.
    """

    refused_template = "admin/refused.html"

    def refusal(self, request, title, message):
        """The 400 page in the admin's layout, saying ``message``."""
        messages.error(request, message)
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": self.model._meta,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.refused_template, context, status=400)

    def refuse_nul(self, request):
        """The 400 page if a parameter of ``request`` has a NUL character, else ``None``."""
        name = nul_parameter(request.GET)
        if name is None:
            return None
        return self.refusal(
            request,
            gettext("Not looked up"),
            gettext(
                "The address of this page has a NUL character (%%00) in “%(parameter)s”. No "
                "record can contain one, so nothing was looked up: remove it from the address, "
                "or start again from the list."
            )
            % {"parameter": name},
        )

    def get_search_results(self, request, queryset, search_term):
        refuse_nul_term(search_term)
        return super().get_search_results(request, queryset, search_term)

    def get_changelist_instance(self, request):
        try:
            return self._changelist(request)
        except LOOKUP_ERRORS:
            name = self._bad_changelist_parameter(request)
            if name is None:
                raise
        raise BadParameter(self._lookup_message(name))

    @staticmethod
    def _lookup_message(name):
        return gettext(
            "This list cannot be shown with the value the address of this page gives for "
            "“%(parameter)s”: correct or remove it in the address, or start again from the list."
        ) % {"parameter": name}

    def _date_hierarchy_parameters(self, request):
        """The date hierarchy's year, month and day as the address gives them (by name; none
        without a year: a month or day alone is a plain lookup)."""
        field = self.date_hierarchy
        if not field or f"{field}__year" not in request.GET:
            return {}
        names = [f"{field}__{part}" for part in ("year", "month", "day")]
        return {name: request.GET[name] for name in names if name in request.GET}

    def _check_date_hierarchy(self, request):
        """Refuse a date hierarchy's year, month or day that Django would turn into dates no
        database has, naming it: its range of dates is computed as Django does, and in UTC as
        the database compares them (year 1 starts in year 0 there, which SQLite cannot store
        and PostgreSQL can)."""
        field = self.date_hierarchy
        given = self._date_hierarchy_parameters(request)
        if not given:
            return
        numbers = {"year": 1, "month": 1, "day": 1}
        for part in numbers:  # each part with those before it
            name = f"{field}__{part}"
            if name not in given:
                continue
            last = name
            try:
                numbers[part] = int(given[name])
                start = datetime(**numbers)
            except (ValueError, OverflowError):
                raise BadParameter(self._lookup_message(name)) from None
        try:
            if f"{field}__day" in given:
                end = start + timedelta(days=1)
            elif f"{field}__month" in given:
                end = (start + timedelta(days=32)).replace(day=1)
            else:
                end = start.replace(year=start.year + 1)
            for moment in (start, end):
                timezone.make_aware(moment).astimezone(UTC)
        except (ValueError, OverflowError):
            # The range they make leaves the dates: the last part given says how long it is.
            raise BadParameter(self._lookup_message(last)) from None

    def _changelist(self, request):
        self._check_date_hierarchy(request)
        # A list filtered by the address, in a savepoint: on PostgreSQL a refused query (a
        # broken "__regex") ends the transaction it is in. The search, sorting and paging
        # reach the database as nothing it can refuse, so the plain list needs none.
        if not any(name not in NOT_LOOKUPS for name in request.GET):
            return super().get_changelist_instance(request)
        with transaction.atomic(using=router.db_for_read(self.model)):
            return super().get_changelist_instance(request)

    def _bad_changelist_parameter(self, request):
        """The parameter that makes the changelist of ``request`` fail: the last of the
        shortest beginning of its address that fails too (``None`` if even all of it builds).
        A bisection, so a long address costs a few tries."""
        # The date hierarchy's parameters are read together, and have been checked: each try
        # has them all.
        dates = self._date_hierarchy_parameters(request)
        parameters = [
            (name, values)
            for name, values in request.GET.lists()
            if name != ERROR_FLAG and name not in dates
        ]

        def fails(count):
            attempt = copy.copy(request)
            attempt.GET = QueryDict(mutable=True)
            for name, values in [
                *((name, request.GET.getlist(name)) for name in dates),
                *parameters[:count],
            ]:
                attempt.GET.setlist(name, values)
            attempt._messages = _DiscardedMessages()
            try:
                self._changelist(attempt)
            except LOOKUP_ERRORS:
                return True
            return False

        good, bad = 0, len(parameters)
        if not bad or not fails(bad) or fails(0):
            return None
        while bad - good > 1:
            middle = (good + bad) // 2
            if fails(middle):
                bad = middle
            else:
                good = middle
        return parameters[bad - 1][0]

    def changelist_view(self, request, extra_context=None):
        refused = self.refuse_nul(request)
        if refused:
            return refused
        try:
            return super().changelist_view(request, extra_context)
        except BadParameter as bad:
            return self.refusal(request, gettext("Address not understood"), bad.message)

    def get_changeform_initial_data(self, request):
        """The add form's initial values; a relation's that is no record's key is refused."""
        initial = super().get_changeform_initial_data(request)
        using = router.db_for_read(self.model)
        for name, value in initial.items():
            try:
                field = self.opts.get_field(name)
            except FieldDoesNotExist:
                continue
            if field.name != name or not field.is_relation or field.auto_created:
                continue
            if bad_keys(field, value if field.many_to_many else [value], using):
                raise BadParameter(
                    gettext(
                        "“%(parameter)s” in the address of this page is not the key of a "
                        "record (%(model)s) that exists, so the form was not opened: correct "
                        "or remove it in the address, or start again from the list."
                    )
                    % {"parameter": name, "model": field.related_model._meta.verbose_name}
                )
        return initial

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The add and the change form: a value of the address is a field's initial value.
        refused = self.refuse_nul(request)
        if refused:
            return refused
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except BadParameter as bad:
            return self.refusal(request, gettext("Address not understood"), bad.message)

    def delete_view(self, request, object_id, extra_context=None):
        return self.refuse_nul(request) or super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        return self.refuse_nul(request) or super().history_view(request, object_id, extra_context)
