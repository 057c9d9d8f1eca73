"""The staff's home: entering and correcting municipalities, partnerships and their history.

Every record of the registry keeps its history (django-simple-history): the "History"
button of each object shows who changed what and when, and staff who may change it can
revert any earlier version from there. Rows edited inline (members, kind and status changes,
alternative names) have their own page for that, behind the row's change link. Import runs
are kept as written, with no history of their own; reverting one deletes what it created and
records on the run who reverted it and when.
Searches ignore case and accents and look at every name, so "koln" and "Cologne" find Köln.
An address with a NUL character in a parameter (a filter, the search) is refused with a
message: no record can hold one, and PostgreSQL refuses to look one up. So is a list's
parameter of a value it cannot use ("id__gte=abc", a date hierarchy's year 9999), naming it,
and an add form's initial value for a relation that is no record's key ("first=abc").
A change form saved after someone else saved the same record (or one of its inline rows)
is refused with a message saying who and when, instead of silently undoing their work.
"""

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ERROR_FLAG, IGNORED_PARAMS, PAGE_VAR
from django.contrib.auth import admin as auth_admin
from django.contrib.auth.models import Group, User
from django.core.exceptions import (
    BadRequest,
    FieldDoesNotExist,
    FieldError,
    PermissionDenied,
    ValidationError,
)
from django.db import DatabaseError, connections, models, router, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Substr
from django.http import Http404, QueryDict
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import get_text_list
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from registry import caching
from registry.models import (
    AlternativeName,
    Association,
    Country,
    Event,
    ImportRun,
    KindChange,
    Membership,
    Municipality,
    Partnership,
    Region,
    Source,
    StatusChange,
    Theme,
)


def partial_date_column(field, description):
    """A changelist column showing a :class:`PartialDate` at its precision, sorted by the field.

    "1988", "November 1988" or "May 22, 1980" instead of the stored ISO text.
    """

    @admin.display(description=description, ordering=field)
    def column(self, obj):
        value = getattr(obj, field)
        return value.display() if value else None

    return column


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


class RelatedExistsListFilter(admin.RelatedOnlyFieldListFilter):
    """Django's ``RelatedOnlyFieldListFilter``, asking of each choice whether a row has it (an
    index lookup per country) rather than collecting the distinct values of every row: 48 ms
    for 200,000 towns on PostgreSQL, now under one."""

    def field_choices(self, field, request, model_admin):
        rows = model_admin.get_queryset(request).filter(**{self.field_path: OuterRef("pk")})
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(
            include_blank=False, limit_choices_to=Q(Exists(rows)), ordering=ordering
        )


class DecadeListFilter(admin.SimpleListFilter):
    """The decade a partnership started in: only the decades that have one are offered.

    Finding them reads every partnership's start (17 ms for 100,000), so they are cached until
    the data changes, as the public pages' counts are."""

    title = _("decade of start")
    parameter_name = "decade"

    def lookups(self, request, model_admin):
        def decades():
            return list(
                model_admin.get_queryset(request)
                .filter(start__isnull=False)
                .annotate(decade=Substr("start", 1, 3))
                .order_by("-decade")
                .values_list("decade", flat=True)
                .distinct()
            )

        decades = caching.get_or_compute("admin-decades", decades, model_admin.model._meta.label)
        return [(f"{decade}0", _("%(decade)s0s") % {"decade": decade}) for decade in decades]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not (len(value) == 4 and value.isdigit() and value.endswith("0")):
            # Say so, and show nothing rather than an unfiltered list that looks filtered.
            if not getattr(self, "_warned", False):
                messages.error(
                    request,
                    _("“%(value)s” is not a decade such as 1980.") % {"value": value},
                )
                self._warned = True
            return queryset.none()
        return queryset.filter(start__startswith=value[:3])


class PartnerCountryListFilter(admin.SimpleListFilter):
    """A country on either side, or of any member."""

    title = _("country")
    parameter_name = "country"

    def lookups(self, request, model_admin):
        return [(country.code, country.name) for country in Country.objects.with_municipalities()]

    def queryset(self, request, queryset):
        code = self.value()
        if not code:
            return queryset
        if code not in dict(self.lookup_choices):
            # As the decade filter: say so, and show nothing rather than a list that looks
            # filtered by it.
            if not getattr(self, "_warned", False):
                messages.error(
                    request,
                    _("“%(value)s” is not the code of a country with a municipality, such as DE.")
                    % {"value": code},
                )
                self._warned = True
            return queryset.none()
        return queryset.filter(
            Q(first__country__code=code)
            | Q(second__country__code=code)
            | Q(
                pk__in=Membership.objects.filter(municipality__country__code=code).values(
                    "partnership"
                )
            )
        )


@admin.register(Source)
class SourceAdmin(HistoryAdmin):
    list_display = ["citation", "publisher", "published_display", "url", "accessed"]
    search_fields = ["citation", "publisher", "url", "key"]
    prepopulated_fields = {"key": ["citation"]}

    published_display = partial_date_column("published", _("published"))


# What a revert deleted, in words (the number picks the plural: ngettext_lazy with "count").
_DELETED = {
    Partnership: ngettext_lazy("%(count)d partnership", "%(count)d partnerships", "count"),
    Municipality: ngettext_lazy("%(count)d municipality", "%(count)d municipalities", "count"),
    Membership: ngettext_lazy("%(count)d member", "%(count)d members", "count"),
    Event: ngettext_lazy("%(count)d event", "%(count)d events", "count"),
    KindChange: ngettext_lazy("%(count)d change of kind", "%(count)d changes of kind", "count"),
    StatusChange: ngettext_lazy(
        "%(count)d change of status", "%(count)d changes of status", "count"
    ),
}


def _reverted_text(run, deleted):
    """What reverting ``run`` deleted (``{model: count}``, as :meth:`ImportRun.revert` gives
    it), in words, the counts that are not 0: "Reverted “…”: 1 partnership, 1 municipality
    and 3 members deleted."; "…: nothing of it was left to delete." if all are."""
    parts = [
        words % {"count": deleted[model]} for model, words in _DELETED.items() if deleted.get(model)
    ]
    if not parts:
        return gettext("Reverted “%(run)s”: nothing of it was left to delete.") % {"run": run}
    return gettext("Reverted “%(run)s”: %(deleted)s deleted.") % {
        "run": run,
        "deleted": get_text_list(parts, gettext("and")),
    }


@admin.register(ImportRun)
class ImportRunAdmin(RefuseBadAddressMixin, admin.ModelAdmin):
    """What each run of ``import_partnerships``, ``import_municipalities``, ``import_events``,
    ``import_networks`` or ``import_changes`` brought in; written by the commands only.

    A run can be reverted ("Revert this import"): what it created goes again, see
    :meth:`ImportRun.revert`. Only superusers and those who may delete partnerships may.
    """

    list_display = [
        "created",
        "file_name",
        "user",
        "rows_read",
        "rows_rejected",
        "municipalities_created",
        "municipalities_matched",
        "partnerships_created",
        "events_created",
        "memberships_created",
        "changes_created",
        "duplicates_merged",
        "already_present",
        "reverted",
        "reverted_by",
    ]
    list_select_related = ["user", "reverted_by"]
    search_fields = ["file_name", "sha256"]
    date_hierarchy = "created"
    readonly_fields = ["reverted", "reverted_by"]
    actions = ["revert_import"]

    @admin.action(description=_("Revert this import"), permissions=["revert"])
    def revert_import(self, request, queryset):
        with transaction.atomic():
            for run in queryset.order_by("-created", "-pk"):
                if run.reverted:
                    self.message_user(
                        request,
                        _("“%(run)s” was reverted before; nothing was done.") % {"run": run},
                        messages.WARNING,
                    )
                    continue
                deleted = run.revert(request.user)
                self.log_change(request, run, "Reverted")
                self.message_user(request, _reverted_text(run, deleted), messages.SUCCESS)

    def has_revert_permission(self, request):
        return request.user.has_perm("registry.delete_partnership")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Country)
class CountryAdmin(HistoryAdmin):
    list_display = ["code", "name_en", "name_de", "ended_display"]
    list_filter = [("ended", admin.EmptyFieldListFilter)]
    search_fields = ["code", "alpha3", "name_en", "name_de"]
    autocomplete_fields = ["successors"]

    ended_display = partial_date_column("ended", _("ended"))


@admin.register(Region)
class RegionAdmin(HistoryAdmin):
    list_display = ["name", "code", "country"]
    list_select_related = ["country"]
    list_filter = [("country", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "code"]
    autocomplete_fields = ["country"]


class AlternativeNameInline(admin.TabularInline):
    model = AlternativeName
    extra = 0
    fields = ["name", "kind", "language", "used_from", "used_until", "sources"]
    autocomplete_fields = ["sources"]
    show_change_link = True


@admin.register(AlternativeName)
class AlternativeNameAdmin(RelatedSearchMixin, HistoryAdmin):
    """Mostly edited inline on the municipality; its own page has its history."""

    list_display = ["name", "municipality", "kind", "language", "used_from", "used_until"]
    list_select_related = ["municipality"]
    list_filter = ["kind"]
    search_fields = ["name"]
    search_related = ["municipality"]
    autocomplete_fields = ["municipality", "sources"]


class MunicipalityEventInline(admin.StackedInline):
    model = Event
    fk_name = "municipality"
    extra = 0
    fields = [
        ("kind", "award"),
        "title",
        ("date", "country_at_time"),
        "place",
        "description",
        "sources",
    ]
    autocomplete_fields = ["country_at_time", "sources"]
    show_change_link = True


@admin.register(Municipality)
class MunicipalityAdmin(QuerySetSearchMixin, HistoryAdmin):
    list_display = ["name", "kind", "country", "region", "partner_count", "seeking_partner"]
    list_select_related = ["country", "region"]
    list_filter = ["kind", "seeking_partner", ("country", RelatedExistsListFilter)]
    # By the folded name, as the public list: the order an index holds (by ``name``, as the
    # model's own ordering, 200,000 towns were sorted on every visit: 96 ms).
    ordering = ["name_folded", "pk"]
    # A second COUNT(*) of every row on each visit, only for "(N total)" beside a filtered
    # count: "Show all" instead.
    show_full_result_count = False
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["country", "region", "parent", "successor", "sources"]
    readonly_fields = ["partner_count", "import_run"]
    inlines = [AlternativeNameInline, MunicipalityEventInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "kind", "country", "region"]}),
        (_("Place"), {"fields": [("latitude", "longitude"), "population", "website"]}),
        (_("Belonging"), {"fields": ["parent", ("successor", "merged")]}),
        (_("Identifiers"), {"fields": [("wikidata_id", "geonames_id")]}),
        (_("Seeking a partner"), {"fields": ["seeking_partner", "seeking_description"]}),
        (None, {"fields": ["partner_count", "sources", "import_run"]}),
    ]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = [
        "municipality",
        "side",
        "joined",
        "left",
        "name_at_signing",
        "country_at_signing",
        "note",
        "sources",
    ]
    autocomplete_fields = ["municipality", "country_at_signing", "sources"]
    verbose_name_plural = _("members of a network, or joint partners of one side")
    show_change_link = True


@admin.register(Membership)
class MembershipAdmin(RelatedSearchMixin, HistoryAdmin):
    """Mostly edited inline on the partnership; its own page has its history."""

    list_display = ["municipality", "partnership", "side", "joined_display", "left_display"]
    list_select_related = ["municipality", "partnership__first", "partnership__second"]
    list_filter = ["side"]
    search_fields = ["municipality__name"]
    search_related = ["municipality", "partnership"]
    autocomplete_fields = ["partnership", "municipality", "country_at_signing", "sources"]

    joined_display = partial_date_column("joined", _("joined"))
    left_display = partial_date_column("left", _("left"))


class KindChangeInline(admin.TabularInline):
    model = KindChange
    extra = 0
    fields = ["kind", "date", "recognised_by", "note", "sources"]
    autocomplete_fields = ["recognised_by", "sources"]
    show_change_link = True


@admin.register(KindChange)
class KindChangeAdmin(RelatedSearchMixin, HistoryAdmin):
    """Mostly edited inline on the partnership; its own page has its history."""

    list_display = ["partnership", "kind", "date_display", "recognised_by"]
    list_select_related = ["partnership__first", "partnership__second", "recognised_by"]
    list_filter = ["kind"]
    search_fields = ["note"]
    search_related = ["partnership"]
    autocomplete_fields = ["partnership", "recognised_by", "sources"]

    date_display = partial_date_column("date", _("from"))


class StatusChangeInline(admin.TabularInline):
    model = StatusChange
    extra = 0
    fields = ["status", "date", "note", "sources"]
    autocomplete_fields = ["sources"]
    show_change_link = True


@admin.register(StatusChange)
class StatusChangeAdmin(RelatedSearchMixin, HistoryAdmin):
    """Mostly edited inline on the partnership; its own page has its history."""

    list_display = ["partnership", "status", "date_display"]
    list_select_related = ["partnership__first", "partnership__second"]
    list_filter = ["status"]
    search_fields = ["note"]
    search_related = ["partnership"]
    autocomplete_fields = ["partnership", "sources"]

    date_display = partial_date_column("date", _("from"))


class PartnershipEventInline(admin.StackedInline):
    model = Event
    fk_name = "partnership"
    extra = 0
    fields = [
        ("kind", "award"),
        "title",
        "date",
        "place",
        "participants",
        "description",
        "sources",
    ]
    autocomplete_fields = ["sources"]
    show_change_link = True


@admin.register(Partnership)
class PartnershipAdmin(QuerySetSearchMixin, HistoryAdmin):
    list_display = ["__str__", "kind", "start_display", "end_display", "status"]
    list_select_related = ["first", "second"]
    list_filter = ["kind", "status", PartnerCountryListFilter, DecadeListFilter]
    show_full_result_count = False  # as for municipalities
    search_fields = ["name"]
    autocomplete_fields = [
        "first",
        "first_country_at_signing",
        "second",
        "second_country_at_signing",
        "continues",
        "themes",
        "associations",
        "sources",
    ]
    readonly_fields = ["import_run"]
    inlines = [MembershipInline, KindChangeInline, StatusChangeInline, PartnershipEventInline]
    fieldsets = [
        (None, {"fields": ["kind", "status", "name", "slug"]}),
        (
            _("Partners"),
            {
                "fields": [
                    "first",
                    ("first_name_at_signing", "first_country_at_signing"),
                    "second",
                    ("second_name_at_signing", "second_country_at_signing"),
                ]
            },
        ),
        (_("Dates"), {"fields": [("start", "end"), "continues"]}),
        (
            _("Details"),
            {
                "fields": [
                    "initiative",
                    "themes",
                    "associations",
                    "description",
                    "sources",
                    "import_run",
                ]
            },
        ),
    ]

    start_display = partial_date_column("start", _("start"))
    end_display = partial_date_column("end", _("end"))


@admin.register(Event)
class EventAdmin(HistoryAdmin):
    list_display = ["date_display", "title", "kind", "award", "partnership", "municipality"]
    list_select_related = ["partnership__first", "partnership__second", "municipality"]
    list_filter = ["kind", "award"]
    search_fields = ["title", "description", "place"]
    show_full_result_count = False  # as for municipalities
    autocomplete_fields = ["partnership", "municipality", "country_at_time", "sources"]

    date_display = partial_date_column("date", _("date"))


@admin.register(Theme)
class ThemeAdmin(HistoryAdmin):
    list_display = ["slug", "name_en", "name_de"]
    search_fields = ["slug", "name_en", "name_de"]


@admin.register(Association)
class AssociationAdmin(HistoryAdmin):
    list_display = ["name", "municipality", "founded_display", "website"]
    list_select_related = ["municipality"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["municipality"]

    founded_display = partial_date_column("founded", _("founded"))


# Django's own admins of accounts, refusing an address they cannot use as the registry's do
# (they answered a NUL, "id__range=1" or an add form's "groups=abc" with a 500).
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(RefuseBadAddressMixin, auth_admin.UserAdmin):
    pass


@admin.register(Group)
class GroupAdmin(RefuseBadAddressMixin, auth_admin.GroupAdmin):
    pass
