"""Public pages of the registry: plain functions that render an explicit context.

Every page answers GET and HEAD only (any other method: 405 with ``Allow``). Every list and
ranking takes its filters from ``registry.filters``; an invalid parameter gets the page with a
message and status 400. ``?format=csv`` (``&sep=;`` for semicolons), ``?format=xlsx`` and
``?format=json`` give the same filtered rows as a download (``registry.downloads``); a
partnership's, a town's and a network's page give ``?format=json``.
"""

import math
from functools import wraps
from itertools import groupby

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Case, Count, IntegerField, Subquery, Value, When, Window
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property, lazy
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_safe

from registry import caching, downloads, fast_markup
from registry.filters import (
    AwardFilter,
    MunicipalityFilter,
    NetworkFilter,
    PartnershipFilter,
    RankingFilter,
    unknown_parameter,
)
from registry.models import Country, Event, Municipality, Partnership

PAGE_SIZE = 50
TOP = 10
ANNIVERSARY_ROWS = 20
ANNIVERSARIES = (25, 50, 75, 100)
EARTH_RADIUS_KM = 6371.0


# Helpers


class Invalid(Exception):
    """A request parameter that cannot be understood: the page says so with status 400."""

    def __init__(self, messages):
        super().__init__(messages)
        self.messages = messages


# The parameters of a download, read by _format alone: ``format`` and, for CSV, ``sep``.
DOWNLOAD_PARAMETERS = ("format", "sep")


def _format(request, allowed=downloads.FORMATS):
    """The asked-for download (a ``downloads.Format``), or ``None`` for the page.

    ``format`` is one of ``allowed``; ``sep`` (a CSV's separator: ``,``, the default, or
    ``;``) only comes with ``format=csv``."""
    value = request.GET.get("format", "")
    separator = request.GET.get("sep", "")
    if value not in ("", "html") and value not in allowed:
        choices = ", ".join(allowed)
        raise Invalid(
            [
                (
                    "",
                    _("“%(value)s” is not a download format; choose %(choices)s.")
                    % {"value": value, "choices": choices},
                )
            ]
        )
    if separator and value != "csv":
        raise Invalid([("", _("A separator (sep) is only for a CSV download (format=csv)."))])
    if separator and separator not in downloads.SEPARATORS:
        raise Invalid(
            [
                (
                    "",
                    _("“%(value)s” is not a separator of a CSV download; choose , or ;.")
                    % {"value": separator},
                )
            ]
        )
    if value in ("", "html"):
        return None
    return downloads.Format(value, separator or ",")


def takes(*names):
    """Refuse a query parameter the page does not take (a page without filters; a filtered
    list refuses them in its form, ``registry.filters.FilterForm``): status 400 and a
    message naming it and those the page takes, for the page and its downloads alike."""

    def decorate(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            unknown = [name for name in request.GET if name not in names]
            if unknown:
                messages = [("", unknown_parameter(name, names)) for name in unknown]
                return render(request, "registry/refused.html", {"errors": messages}, status=400)
            return view(request, *args, **kwargs)

        return checked

    return decorate


def _check(filterset):
    if not filterset.is_valid():
        raise Invalid(filterset.messages)


class _Paginator(Paginator):
    """Pages of a list in a total order (ending with the primary key), counted once per data
    version, with the pages past the middle read from the far end: ``page=`` of the last page
    costs what page 1 costs, whatever the length of the list. Page 1 of a list not yet
    counted reads its rows and the count in one query (the count as a subquery), or reads
    the count from the rows of a queryset that ``counts_itself`` (annotates ``list_total``)."""

    def __init__(self, queryset, size, count_key, counts_itself=False):
        ordering = queryset.query.order_by or queryset.model._meta.ordering
        if not any(str(term) in ("pk", "-pk", "id", "-id") for term in ordering):
            queryset = queryset.order_by(*ordering, "pk")
        super().__init__(queryset, size)
        self.count_key = count_key
        self.counts_itself = counts_itself

    @cached_property
    def count(self):
        return caching.get_or_compute("count", lambda: Paginator.count.func(self), *self.count_key)

    def _first_page(self):
        """Page 1 and the count in one query, when the count is not cached yet: the count as
        a subquery; for a grouped list, which computes every group before it can sort them
        anyway, as a window over the groups; a list that counts its rows with them (a ranking
        by the dated records, ``Municipality.objects.counting()``) annotates ``list_total``
        itself."""
        queryset, query = self.object_list, self.object_list.query
        if not self.counts_itself:
            if query.group_by is None and not query.distinct and not _aggregates(query):
                total = queryset.order_by().values(_one=Value(1)).annotate(total=Count("*"))
                counted = Subquery(total.values("total"), output_field=IntegerField())
            else:
                counted = Window(Count("*"))
            queryset = queryset.annotate(list_total=counted)
        rows = list(queryset[: self.per_page])
        count = rows[0].list_total if rows else 0
        caching.put("count", count, *self.count_key)
        self.count = count
        return self._get_page(rows, 1, self)

    def page(self, number):
        if (
            str(number) == "1"
            and "count" not in self.__dict__
            and not self.object_list.query.combinator
            and caching.peek("count", *self.count_key) is None
        ):
            return self._first_page()
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        if bottom > self.count - top:
            rows = list(self.object_list.reverse()[self.count - top : self.count - bottom])
            rows.reverse()
        else:
            rows = self.object_list[bottom:top]
        return self._get_page(rows, number, self)


def _aggregates(query):
    return any(getattr(value, "contains_aggregate", False) for value in query.annotations.values())


def _reading(request, filterset):
    """The cache key of what a list shares between its pages: the page's name and what its
    filters read of the query (``caching.form_reading``)."""
    name = request.resolver_match.view_name if request.resolver_match else request.path
    return (name, caching.form_reading(filterset.form))


def _page(
    request,
    queryset,
    filterset,
    size=PAGE_SIZE,
    cache_rows=False,
    prepare=None,
    counts_itself=False,
):
    """The asked-for page of ``queryset``, as filtered by ``filterset``; with ``cache_rows``,
    its rows come from the cache while the data stays unchanged; ``prepare(rows,
    page_number)`` completes the rows first; ``counts_itself``: the queryset annotates each
    row with the list's ``list_total``."""
    count_key = _reading(request, filterset)
    paginator = _Paginator(queryset, size, count_key, counts_itself)
    page = _page_of(paginator, request.GET.get("page") or "1")

    def rows():
        listed = list(page.object_list)
        return prepare(listed, page.number) if prepare else listed

    if cache_rows:
        page.object_list = caching.get_or_compute("rows", rows, *count_key, page.number)
    elif prepare:
        page.object_list = rows()
    return page


def _page_of(paginator, number):
    """Page ``number`` (as asked for) of ``paginator``; a number it has not: ``Invalid``."""
    try:
        return paginator.page(number)
    except PageNotAnInteger:
        message = _("“%(value)s” is not a page number.") % {"value": number}
    except EmptyPage:
        message = ngettext(
            "There is no page %(value)s: the list has %(pages)d page.",
            "There is no page %(value)s: the list has %(pages)d pages.",
            paginator.num_pages,
        ) % {"value": number, "pages": paginator.num_pages}
    raise Invalid([(_("Page"), message)])


def _filter_form(request, filterset):
    """The filter form's HTML, made when a template shows it (a download does not).

    Rendering its 250 countries takes longer than the rest of a cached page, so a valid
    form's HTML is cached per language and query string until a country or theme changes.
    """
    return lazy(_render_filter_form, SafeString)(request, filterset)


def _render_filter_form(request, filterset):
    caching.cache_choices(filterset.form)

    def render_form():
        return render_to_string(
            "includes/filter_form.html", {"filter": filterset, "request": request}
        )

    if not filterset.is_valid():
        return render_form()
    return caching.get_or_compute(
        "filter-form",
        render_form,
        *_reading(request, filterset),
        version_key=caching.REFERENCE_VERSION_KEY,
    )


def _invalid(request, template, context, error):
    context = {**context, "errors": error.messages, "page": None}
    return render(request, template, context, status=400)


def _list_page(request, template, filterset, context, make_download):
    """Render a filtered, paginated list; or its download; or its errors with status 400."""
    context = {"filter": filterset, "filter_form": _filter_form(request, filterset), **context}
    try:
        fmt = _format(request)
        _check(filterset)
        if fmt:
            return make_download(fmt, filterset.qs)
        page = _page(request, filterset.qs, filterset)
    except Invalid as error:
        return _invalid(request, template, context, error)
    return render(request, template, {**context, "page": page, "errors": []})


def haversine_km(one, other):
    """The great-circle distance between two municipalities in whole km, or ``None`` when
    either has no coordinates."""
    if None in (one.latitude, one.longitude, other.latitude, other.longitude):
        return None
    lat1, lon1, lat2, lon2 = (
        math.radians(float(value))
        for value in (one.latitude, one.longitude, other.latitude, other.longitude)
    )
    a = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return round(2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a)))


def bar_chart(bars, width=600, label_width=170, bar_height=20, gap=6):
    """Geometry of a horizontal SVG bar chart for ``bars`` of (label, value); a value of
    ``None`` is a gap, a row without a bar that says "none".

    Numbers are formatted here, not in the template, so that a German page does not write
    "12,5" into an SVG attribute.
    """
    bars = list(bars)
    largest = max((value for _label, value in bars if value is not None), default=0) or 1
    room = width - label_width - 60
    rows = []
    for index, (label, value) in enumerate(bars):
        y = index * (bar_height + gap)
        length = 0 if value is None else room * value / largest
        rows.append(
            {
                "label": label,
                "value": _("none") if value is None else value,
                "gap": value is None,
                "y": str(y),
                "text_y": str(y + bar_height - 5),
                "x": str(label_width),
                "width": f"{length:.1f}",
                "value_x": f"{label_width + length + 6:.1f}",
            }
        )
    return {
        "bars": rows,
        "width": str(width),
        "height": str(max(len(rows) * (bar_height + gap), bar_height)),
        "label_x": str(label_width - 8),
        "bar_height": str(bar_height),
    }


def _decade(decade):
    return _("%(decade)ss") % {"decade": decade * 10}


def _decades(partnerships):
    """(label, count) per decade in which a link began, oldest first, unknown starts last.

    Decades without a partnership between the first and the last are not left out: each run of
    them is one gap, a row of ``None`` ("840s–1910s": none, between Paderborn – Le Mans in 836
    and Keighley – Poix-du-Nord in 1920), so that 836 does not read as the decade before 1920.
    """
    rows, previous = [], None
    for row in partnerships.per_decade():
        if row["decade"] is None:
            rows.append((_("date unknown"), row["count"]))
            continue
        decade = int(row["decade"])
        if previous is not None and decade > previous + 1:
            first, last = _decade(previous + 1), _decade(decade - 1)
            rows.append((first if decade == previous + 2 else f"{first}–{last}", None))
        rows.append((_decade(decade), row["count"]))
        previous = decade
    return rows


def _kind_label(kind):
    return Partnership.Kind(kind).label


# Home


@require_safe
@takes()
@caching.cached_page
def home(request):
    """The totals, the top of the ranking, the anniversaries and the decades: cached until the
    data changes (and per day, for the anniversaries)."""
    today = timezone.localdate()
    context = caching.get_or_compute("home", lambda: _home_context(today.year), today)
    return render(request, "registry/home.html", context)


def _home_context(year):
    totals = Partnership.objects.totals()
    years = {year + ahead - age: (year + ahead, age) for ahead in (0, 1) for age in ANNIVERSARIES}
    begun = (
        Partnership.objects.bilateral()
        .exclude(status=Partnership.Status.ENDED)
        .begun_in_years(years)
    )
    # This year's first, then next year's; in each the oldest partnership first. Only the
    # first rows: at world scale a year has thousands of anniversaries.
    celebrated_in = Case(
        *(
            When(start__gte=f"{begun_in:04d}", start__lt=f"{begun_in + 1:04d}", then=celebrated)
            for begun_in, (celebrated, _age) in years.items()
        ),
        output_field=IntegerField(),
    )
    anniversaries = []
    for partnership in (
        begun.for_list()
        .with_official_since()
        .annotate(celebrated_in=celebrated_in)
        .order_by("celebrated_in", "start", "slug")[:ANNIVERSARY_ROWS]
    ):
        celebrated, age = years[partnership.start.year]
        anniversaries.append({"partnership": partnership, "year": celebrated, "age": age})
    return {
        "municipality_total": Municipality.objects.count(),
        "partnership_total": totals["bilateral"],
        "network_total": totals["networks"],
        "top": _top(),
        "anniversaries": anniversaries,
        "anniversary_total": begun.count(),
        "this_year": year,
        "next_year": year + 1,
        "decades": bar_chart(_decades(Partnership.objects.bilateral())),
    }


def _top():
    """The first of today's ranking, ranked without a window over every town."""
    ranked = Municipality.objects.ranked().annotate_partners()
    return ranked.dense_ranks(list(ranked[:TOP]), first_page=True)


# Municipalities


@require_safe
@caching.cached_page
def municipality_list(request):
    filterset = MunicipalityFilter(request.GET, queryset=Municipality.objects.for_list())

    def make_download(fmt, queryset):
        rows = (downloads.municipality_row(request, m) for m in downloads.iterate(queryset))
        return downloads.download(
            fmt, "municipalities", timezone.localdate(), downloads.MUNICIPALITY_HEADER, rows
        )

    return _list_page(request, "registry/municipality_list.html", filterset, {}, make_download)


def _other_side(municipality, partnership):
    """The partners of ``municipality`` in a bilateral partnership: the other side and its
    joint partners, the main one first."""
    if partnership.first_id == municipality.pk:
        side = "first"
    elif partnership.second_id == municipality.pk:
        side = "second"
    else:
        side = next(
            m.side for m in partnership.memberships.all() if m.municipality_id == municipality.pk
        )
    other = "second" if side == "first" else "first"
    joint = [m.municipality for m in partnership.memberships.all() if m.side == other]
    return [getattr(partnership, other), *joint]


@require_safe
@takes("format")
@caching.cached_page
def municipality_detail(request, slug):
    """A town's page, or with ``format=json`` the same as a download."""
    municipality = get_object_or_404(Municipality.objects.for_detail(), slug=slug)
    template = "registry/municipality_detail.html"
    try:
        fmt = _format(request, allowed=("json",))
    except Invalid as error:
        return render(
            request, template, {"municipality": municipality, "errors": error.messages}, status=400
        )
    context = _municipality_context(municipality)
    if fmt:
        document = downloads.municipality_detail_document(
            request,
            municipality,
            context["partners"],
            context["networks"],
            context["events"],
            context["alternative_names"],
        )
        return downloads.json_response(
            f"municipality-{municipality.slug}", timezone.localdate(), document
        )
    return render(request, template, {**context, "errors": []})


def _municipality_context(municipality):
    """What a town's page shows: its partners, networks, events, awards and other names."""
    partners, networks = [], []
    partnerships = list(
        Partnership.objects.involving(municipality).for_partners().with_official_since()
    )
    for partnership in partnerships:
        if partnership.is_network:
            membership = next(
                m for m in partnership.memberships.all() if m.municipality_id == municipality.pk
            )
            networks.append({"network": partnership, "membership": membership})
            continue
        others = _other_side(municipality, partnership)
        partners.append(
            {
                "partnership": partnership,
                "others": others,
                "distance": haversine_km(municipality, others[0]),
            }
        )
    # Every event is of the town or of one of these partnerships: each is given its partnership
    # as already read, rather than reading it again with its sides (at world scale, 675
    # events of 146 partnerships were 4,000 objects). One added since (by another request
    # between the two reads) is read when shown.
    read = {partnership.pk: partnership for partnership in partnerships}
    events = list(
        Event.objects.about(municipality)
        .select_related("municipality__country", "country_at_time")
        .order_by("date", "title", "pk")
    )
    for event in events:
        if event.partnership_id in read:
            event.partnership = read[event.partnership_id]
    return {
        "municipality": municipality,
        "partners": partners,
        "networks": networks,
        "events": events,
        "awards": [event for event in events if event.kind == Event.Kind.AWARD],
        "alternative_names": municipality.alternative_names.all(),
    }


# Partnerships


@require_safe
@caching.cached_page
def partnership_list(request):
    filterset = PartnershipFilter(
        request.GET, queryset=Partnership.objects.bilateral().for_list().with_official_since()
    )

    def make_download(fmt, queryset):
        queryset = queryset.for_download()
        as_of = timezone.localdate()
        if fmt.kind != "json":
            rows = (downloads.partnership_row(request, p) for p in downloads.iterate(queryset))
            header = downloads.PARTNERSHIP_HEADER
            return downloads.table_response(fmt, "partnerships", as_of, header, rows)
        documents = (downloads.partnership_document(request, p) for p in queryset)
        return downloads.download(fmt, "partnerships", as_of, [], [], documents=documents)

    return _list_page(request, "registry/partnership_list.html", filterset, {}, make_download)


def _conflicts(changes, field):
    """Claims of the same change that disagree on its date: runs of changes (in date order)
    to the same kind or status recorded with different dates, each with its sources."""
    conflicts = []
    for _value, run in groupby(changes, key=lambda change: getattr(change, field)):
        run = list(run)
        if len({change.date for change in run}) > 1:
            conflicts.append({"value": run[0], "claims": run})
    return conflicts


@require_safe
@takes("format")
@caching.cached_page
def partnership_detail(request, pk):
    partnership = get_object_or_404(Partnership.objects.for_detail().with_official_since(), pk=pk)
    if partnership.is_network:
        return redirect(partnership, permanent=True)
    try:
        fmt = _format(request, allowed=("json",))
    except Invalid as error:
        return render(
            request,
            "registry/partnership_detail.html",
            {"partnership": partnership, "errors": error.messages},
            status=400,
        )
    if fmt:
        document = downloads.partnership_detail_document(request, partnership)
        return downloads.json_response(
            f"partnership-{partnership.pk}", timezone.localdate(), document
        )
    kind_changes = list(partnership.kind_changes.all())
    status_changes = list(partnership.status_changes.all())
    memberships = list(partnership.memberships.all())
    context = {
        "partnership": partnership,
        "sides": [
            {
                "role": _("first partner")
                if partnership.kind != Partnership.Kind.ADOPTION
                else _("sponsor"),
                "municipality": partnership.first,
                "name_at_signing": partnership.first_name_at_signing,
                "country_at_signing": partnership.first_country_at_signing,
            },
            {
                "role": _("second partner")
                if partnership.kind != Partnership.Kind.ADOPTION
                else _("sponsored"),
                "municipality": partnership.second,
                "name_at_signing": partnership.second_name_at_signing,
                "country_at_signing": partnership.second_country_at_signing,
            },
        ],
        "memberships": memberships,
        "kind_changes": kind_changes,
        "status_changes": status_changes,
        "kind_conflicts": _conflicts(kind_changes, "kind"),
        "status_conflicts": _conflicts(status_changes, "status"),
        "events": partnership.events.all(),
        "sources": partnership.sources.all(),
        "themes": partnership.themes.all(),
        "associations": partnership.associations.all(),
        "continued_by": partnership.continued_by.all(),
        "errors": [],
    }
    return render(request, "registry/partnership_detail.html", context)


# Networks


@require_safe
@caching.cached_page
def network_list(request):
    filterset = NetworkFilter(request.GET, queryset=Partnership.objects.for_network_list())

    def make_download(fmt, queryset):
        rows = (downloads.network_row(request, n) for n in downloads.iterate(queryset))
        return downloads.download(
            fmt, "networks", timezone.localdate(), downloads.NETWORK_HEADER, rows
        )

    return _list_page(request, "registry/network_list.html", filterset, {}, make_download)


@require_safe
@takes("format")
@caching.cached_page
def network_detail(request, slug):
    """A network's page, or with ``format=json`` the same as a download."""
    network = get_object_or_404(Partnership.objects.for_network_detail(), slug=slug)
    template = "registry/network_detail.html"
    try:
        fmt = _format(request, allowed=("json",))
    except Invalid as error:
        return render(request, template, {"network": network, "errors": error.messages}, status=400)
    if fmt:
        document = downloads.network_detail_document(request, network)
        return downloads.json_response(f"network-{network.slug}", timezone.localdate(), document)
    context = {
        "network": network,
        "memberships": network.memberships.all(),
        "events": network.events.all(),
        "sources": network.sources.all(),
        "errors": [],
    }
    return render(request, template, context)


# Rankings


def _rule_text(rule):
    """The counting rule of a ranking, in words."""
    kind = Partnership.Kind(rule["kind"]).label if rule["kind"] else _("partnerships of any kind")
    status = Partnership.Status(rule["status"]).label if rule["status"] else _("any status")
    domestic = {
        "include": _("Partners in the same country count."),
        "exclude": _("Partners in the same country do not count."),
        "only": _("Only partners in the same country count."),
    }[rule["domestic"]]
    if rule["day"] is None:
        when = _("Counted today, by each partnership's present kind and status.")
    else:
        day = date_format(rule["day"], "DATE_FORMAT")
        if rule["status"] in (None, Partnership.Status.ENDED):
            when = _(
                "Counted for %(day)s (at the end of that day) from the dated records: the kind "
                "and status a partnership had then; it must have begun by then."
            ) % {"day": day}
        else:
            when = _(
                "Counted for %(day)s (at the end of that day) from the dated records: the kind "
                "and status a partnership had then; it must have begun by then and not yet "
                "ended."
            ) % {"day": day}
    return _(
        "A municipality's partners are its partnerships of the kind “%(kind)s” with the "
        "status “%(status)s”, each counted once: a joint partner such as Corinto / El Realejo "
        "counts once. %(domestic)s %(when)s Equal counts share a rank, and the next count "
        "takes the next rank."
    ) % {"kind": kind, "status": status, "domestic": domestic, "when": when}


@require_safe
@caching.cached_page
def ranking(request):
    filterset = RankingFilter(request.GET, queryset=Municipality.objects.all())
    context = {
        "filter": filterset,
        "rule": None,
        "past_years": range(1950, timezone.localdate().year, 10),
        "filter_form": _filter_form(request, filterset),
    }
    try:
        fmt = _format(request)
        _check(filterset)
        rule = filterset.rule
        context["rule"] = _rule_text(rule)
        as_of = rule["day"] or timezone.localdate()
        context["as_of"] = as_of
        ranked = filterset.qs.ranking_columns()
        counted = filterset.counted_in_sql  # with each row's rank and the list's total
        ranked_rows = filterset.ranks_itself  # with each row's rank
        if fmt:
            every = ranked if ranked_rows else ranked.with_rank()  # streamed in order
            rows = (downloads.ranking_row(request, m) for m in downloads.iterate(every))
            return downloads.download(fmt, "ranking", as_of, downloads.RANKING_HEADER, rows)

        def ranks(rows, number):
            return rows if ranked_rows else ranked.dense_ranks(rows, first_page=number == 1)

        page = _page(
            request, ranked, filterset, cache_rows=True, prepare=ranks, counts_itself=counted
        )
    except Invalid as error:
        return _invalid(request, "registry/ranking.html", context, error)
    rows = fast_markup.ranking_rows(page.object_list)
    context = {**context, "page": page, "rows": rows, "errors": []}
    return render(request, "registry/ranking.html", context)


def _country_tables():
    """Countries by partnerships in force, and every pair of countries, the most frequent
    first."""
    partnerships = Partnership.objects.bilateral().counted()
    return Country.objects.partnership_tables(partnerships)


@require_safe
@takes(*DOWNLOAD_PARAMETERS, "table", "page")
@caching.cached_page
def country_ranking(request):
    """The countries, and the pairs of countries a page at a time (``page=``: a list in
    memory, read in one go with the countries and cached with them); each table whole as a
    download (``table=countries`` or ``pairs``; JSON has both)."""
    context = {}
    try:
        fmt = _format(request)
        table = request.GET.get("table", "countries")
        if table not in ("countries", "pairs"):
            raise Invalid(
                [
                    (
                        "",
                        _("“%(value)s” is not a table of this page; choose countries or pairs.")
                        % {"value": table},
                    )
                ]
            )
        countries, pairs = caching.get_or_compute("country_ranking", _country_tables)
        if not fmt:
            page = _page_of(Paginator(pairs, PAGE_SIZE), request.GET.get("page") or "1")
    except Invalid as error:
        return _invalid(request, "registry/country_ranking.html", context, error)
    as_of = timezone.localdate()
    if fmt and fmt.kind != "json":
        if table == "pairs":
            rows = (downloads.pair_row(pair) for pair in pairs)
            name, header = "country-pairs", downloads.PAIR_HEADER
        else:
            rows = (downloads.country_row(country) for country in countries)
            name, header = "countries", downloads.COUNTRY_HEADER
        return downloads.table_response(fmt, name, as_of, header, rows)
    if fmt:
        return downloads.json_response(
            "countries",
            as_of,
            {
                "countries": [
                    dict(zip(downloads.COUNTRY_HEADER, downloads.country_row(c), strict=True))
                    for c in countries
                ],
                "pairs": [
                    dict(zip(downloads.PAIR_HEADER, downloads.pair_row(pair), strict=True))
                    for pair in pairs
                ],
            },
        )
    context = {"countries": countries, "page": page, "pair_total": len(pairs), "errors": []}
    return render(request, "registry/country_ranking.html", context)


# Awards


@require_safe
@caching.cached_page
def award_list(request):
    filterset = AwardFilter(request.GET, queryset=Event.objects.awards().for_timeline())

    def make_download(fmt, queryset):
        rows = (downloads.award_row(request, e) for e in downloads.iterate(queryset))
        return downloads.download(fmt, "awards", timezone.localdate(), downloads.AWARD_HEADER, rows)

    return _list_page(request, "registry/award_list.html", filterset, {}, make_download)


# Statistics


@require_safe
@takes()
@caching.cached_page
def statistics(request):
    """Partnerships per decade, country and kind: cached until the data changes."""
    return render(
        request, "registry/statistics.html", caching.get_or_compute("statistics", _charts)
    )


def _charts():
    partnerships = Partnership.objects.bilateral()
    countries = Country.objects.with_partnership_counts(partnerships)
    kinds = [(_kind_label(row["kind"]), row["count"]) for row in partnerships.per_kind()]
    return {
        "decades": bar_chart(_decades(partnerships)),
        "countries": bar_chart((country.name, country.partnerships) for country in countries),
        "kinds": bar_chart(kinds),
    }
