"""The cache of what the public pages count: rankings, statistics, the home page's parts.

Every cached value's key carries the **data version**, a random token kept in the cache itself.
Any change to the registry replaces the token, so the next request computes afresh and what
was cached before is never read again (it expires, or local memory culls it). The token is
replaced at once and again when the transaction commits: a page computed from the old data by
another request while the change was not yet committed is cached under the token that the
commit then replaces.

Changes reach :func:`data_changed` through the signals connected by :func:`connect` (every save
and delete of a registry model, fixtures included, and every change of their many-to-many
relations); code that writes past the signals (bulk inserts and updates of the importer, raw
SQL) calls :func:`data_changed` itself.

Keys also carry the language and what the page reads of its query string: a whole page is
stored under its exact path and query string; the parts a list shares between its pages (its
count, its rows, its filter form) under what its filter form reads of the query
(:func:`form_reading`), so two query strings share them only when every filter reads them
alike. The cache is Django's: local memory by default, Redis (shared by every app server)
when ``REDIS_URL`` is set.
"""

import hashlib
import uuid
from functools import wraps

from django.apps import apps
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.forms.models import ModelChoiceIterator
from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language

from registry.models import Region, name_choices

VERSION_KEY = "registry:data-version"
REFERENCE_VERSION_KEY = "registry:reference-version"
# What the filter forms offer as choices; a change of these replaces both versions.
REFERENCE_MODELS = ("registry.Country", "registry.Region", "registry.Theme")
# An import creates regions in bulk, past the signals: the run it records (saved when it
# starts and when it is reverted) stands for them.
REFERENCE_SENDERS = (*REFERENCE_MODELS, "registry.ImportRun")
# Kept for staff only, never on a public page: a visitor's report keeps every cached page.
PRIVATE_MODELS = ("registry.CorrectionReport",)
TIMEOUT = 60 * 60 * 24
_MISSING = object()


def data_version(version_key=VERSION_KEY):
    """The current data version; a new one if the cache has none (first use, or culled)."""
    version = cache.get(version_key)
    if version is None:
        version = uuid.uuid4().hex
        if not cache.add(version_key, version, timeout=None):
            version = cache.get(version_key) or version
    return version


def _replace(*version_keys):
    cache.set_many({version_key: uuid.uuid4().hex for version_key in version_keys}, timeout=None)


def data_changed(using=None, *, reference=False):
    """Forget every cached page: call after any write that sends no model signal.

    ``reference=True`` also forgets the cached choices of the filter forms (countries,
    themes), which are otherwise kept across changes of the other data.
    """
    version_keys = (VERSION_KEY, REFERENCE_VERSION_KEY) if reference else (VERSION_KEY,)
    _replace(*version_keys)
    transaction.on_commit(lambda: _replace(*version_keys), using=using)


def form_reading(form):
    """What ``form`` reads of its data, field by field, as a part of a cache key.

    Each field's value is read as the form reads it (its widget's ``value_from_datadict``:
    the last of a repeated parameter for a single value, all of them in order for a multiple
    one), so ``?on=1970&on=`` (read as empty: today) and ``?on=1970`` never share a key, while
    parameters that no filter reads, their order, and a missing parameter against an empty
    one do not make two keys of one reading.
    """
    read = []
    for name, field in form.fields.items():
        value = field.widget.value_from_datadict(form.data, form.files, form.add_prefix(name))
        if isinstance(value, list | tuple):
            value = tuple("" if item is None else str(item) for item in value)
        else:
            value = "" if value is None else str(value)
        read.append((name, value))
    return repr(read)


def key(name, *parts, version_key=VERSION_KEY):
    """A cache key for ``name`` and ``parts`` at the current data version and language."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()
    return f"registry:{name}:{data_version(version_key)}:{get_language() or ''}:{digest}"


def get_or_compute(name, compute, *parts, version_key=VERSION_KEY):
    """The cached value for ``name`` and ``parts``, or ``compute()``'s, cached."""
    cache_key = key(name, *parts, version_key=version_key)
    value = cache.get(cache_key, _MISSING)
    if value is _MISSING:
        value = compute()
        cache.set(cache_key, value, TIMEOUT)
    return value


def cached_page(view):
    """Cache the whole HTML page a public view answers with, until the data changes.

    A page depends on nothing but the data, the language, the day (rankings "as of today",
    this year's anniversaries), its path and its query string: the key carries all of them.
    It is the same for every visitor: the language switch needs no CSRF token
    (``twinning.views``), and a page that did show the visitor's token is never stored. Each
    answer says ``Vary: Cookie`` (the language cookie chooses the language) besides the
    ``Accept-Language`` that LocaleMiddleware adds, so a shared cache in front keeps the
    languages apart too (downloads and error pages, made afresh, say so as well).

    Only a successful HTML answer to GET or HEAD is stored; downloads, errors (400, 404) and
    anything that sets a cookie are made afresh each time. Middleware (security headers,
    language) still runs for every response, cached or not.
    """

    @wraps(view)
    def cached_view(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        page_key = key("page", request.get_full_path(), timezone.localdate())
        stored = cache.get(page_key)
        if stored is not None:
            content, headers = stored
            return HttpResponse(content, headers=headers)
        response = view(request, *args, **kwargs)
        patch_vary_headers(response, ("Cookie",))
        if (
            response.status_code == 200
            and not response.streaming
            and not response.cookies
            and response.get("Content-Type", "").startswith("text/html")
            # get_token() marks the request so: the page holds this visitor's CSRF token.
            and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        ):
            cache.set(page_key, (response.content, dict(response.headers)), TIMEOUT)
        return response

    return cached_view


def peek(name, *parts, version_key=VERSION_KEY):
    """The cached value for ``name`` and ``parts``, or ``None``."""
    return cache.get(key(name, *parts, version_key=version_key))


def put(name, value, *parts, version_key=VERSION_KEY):
    """Cache ``value`` for ``name`` and ``parts``."""
    cache.set(key(name, *parts, version_key=version_key), value, TIMEOUT)


class CachedChoiceIterator(ModelChoiceIterator):
    """The choices of a model choice field, read from the cache rather than a query each time
    a form is shown (the countries of every filter form): ``(value, name)`` pairs, the names
    in the active language (:func:`registry.models.name_choices`; countries and themes, the
    :data:`REFERENCE_MODELS`, name themselves so)."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        queryset, value = self.queryset, self.field.to_field_name or "pk"
        label = f"{queryset.model._meta.label}:{value}:{queryset.query}"
        yield from get_or_compute(
            "choices",
            lambda: name_choices(queryset, value),
            label,
            version_key=REFERENCE_VERSION_KEY,
        )

    def __len__(self):
        return sum(1 for _choice in self)


def cache_choices(form):
    """Let the form's choices of countries and themes come from the cache (its regions
    always do: :func:`regions`)."""
    for field in form.fields.values():
        queryset = getattr(field, "queryset", None)
        if queryset is not None and queryset.model._meta.label in REFERENCE_MODELS:
            field.iterator = CachedChoiceIterator
            field.widget.choices = field.choices
    return form


def regions():
    """Every region of the filter forms' drop-down, as ``Region.objects.choices()`` gives
    them: read once per language until a region, country or import changes."""
    return get_or_compute(
        "regions", lambda: Region.objects.choices(), version_key=REFERENCE_VERSION_KEY
    )


def forget():
    """Forget everything cached, choices included (each test starts so)."""
    _replace(VERSION_KEY, REFERENCE_VERSION_KEY)


# Signals


def _model_changed(sender, using=None, **kwargs):
    data_changed(using=using, reference=sender._meta.label in REFERENCE_SENDERS)


def _relation_changed(sender, action, model, using=None, **kwargs):
    if action.startswith("post_"):
        data_changed(using=using, reference=model._meta.label in REFERENCE_MODELS)


def connect():
    """Replace the data version on every save, delete and m2m change of a registry model."""
    for model in apps.get_app_config("registry").get_models():
        if model.__name__.startswith("Historical") or model._meta.label in PRIVATE_MODELS:
            continue
        uid = f"registry.caching:{model._meta.label}"
        post_save.connect(_model_changed, sender=model, dispatch_uid=uid)
        post_delete.connect(_model_changed, sender=model, dispatch_uid=uid)
        for field in model._meta.local_many_to_many:
            m2m_changed.connect(
                _relation_changed,
                sender=field.remote_field.through,
                dispatch_uid=f"{uid}:{field.name}",
            )
