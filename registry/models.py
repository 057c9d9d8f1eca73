"""The registry's data: countries, municipalities, partnerships, their histories and sources.

A partnership is symmetric: ``first`` and ``second`` are the two sides of a bilateral kind (for
an adoption, ``first`` is the sponsor and ``second`` the sponsored place). A multilateral network
has no sides; its members, and a side's joint partners (Köln's partner "Corinto/El Realejo" is
one partnership with two Nicaraguan municipalities), are :class:`Membership` rows.
"""

import re
import zlib
from collections import Counter

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import (
    Count,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    Subquery,
    Value,
    Window,
)
from django.db.models.expressions import Expression
from django.db.models.functions import (
    Coalesce,
    DenseRank,
    FirstValue,
    Greatest,
    Least,
    Substr,
)
from django.db.models.sql.constants import INNER
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from registry.dates import PartialDateField
from registry.text import fold, search_keys


def _localized(obj, field):
    """The German or English variant of a name, following the active language."""
    language = (get_language() or "en")[:2]
    return getattr(obj, f"{field}_{language}", "") or getattr(obj, f"{field}_en")


def name_choices(queryset, value_field):
    """``(value, name)`` of every country or theme in ``queryset``: ``value_field``'s value and
    the name as ``str()`` gives it in the active language. Read as plain values rather than a
    model instance each: a filter form's 281 countries 1.7 -> 0.4 ms."""
    language = (get_language() or "en")[:2]
    local = f"name_{language}"
    if local not in {field.name for field in queryset.model._meta.concrete_fields}:
        local = "name_en"
    rows = queryset.values_list(value_field, local, "name_en")
    return [(value, name or english) for value, name, english in rows]


def end_not_before_start(start, end):
    """Q for "end is not before start", at the precision of each date.

    Partial dates compare as ISO text; an end that is a prefix of the start ("1980" against
    "1980-05-22") lies in the same period and is not before it.
    """
    return (
        Q(**{f"{end}__isnull": True})
        | Q(**{f"{start}__isnull": True})
        | Q(**{f"{end}__gte": F(start)})
        | Q(**{f"{start}__startswith": F(end)})
    )


class SourceManager(models.Manager):
    def get_by_natural_key(self, key):
        return self.get(key=key)


_URL_SHAPES = {}
_SENTINEL = "7391846205"  # a slug and an integer, found once in a reversed URL
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")


def quick_reverse(name, value):
    """``reverse(name, args=[value])`` for a URL with one slug or integer: reversed once per
    URL name, script prefix and URLconf, then filled in (a town's page links to hundreds of
    partnerships; reversing each was a fifth of the page)."""
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
    translates it: a timeline of 675 events spent 40% of the page in it. The table keeps the
    labels lazy, so each call still answers in the active language.
    """

    def _get_FIELD_display(self, field):  # noqa: N802  # Django's name, overridden
        labels = field.__dict__.get("_display_labels")
        if labels is None:
            labels = {make_hashable(value): label for value, label in field.flatchoices}
            field.__dict__["_display_labels"] = labels
        value = getattr(self, field.attname)
        return force_str(labels.get(make_hashable(value), value), strings_only=True)


class Source(models.Model):
    key = models.SlugField(
        _("key"),
        max_length=100,
        unique=True,
        help_text=_("Short stable identifier used by fixtures, e.g. koeln-de-partnerstaedte."),
    )
    citation = models.CharField(_("citation"), max_length=500)
    url = models.URLField(_("URL"), max_length=500, blank=True)
    publisher = models.CharField(_("publisher"), max_length=200, blank=True)
    published = PartialDateField(_("published"), null=True, blank=True)
    accessed = models.DateField(_("accessed"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    objects = SourceManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["citation"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")

    def __str__(self):
        return self.citation

    def natural_key(self):
        return (self.key,)


class CountryQuerySet(models.QuerySet):
    def current(self):
        return self.filter(ended__isnull=True)

    def historical(self):
        return self.filter(ended__isnull=False)

    def with_municipalities(self):
        """Countries with a municipality in the registry: a lookup per country, not a pass
        over every town."""
        return self.filter(Exists(Municipality.objects.filter(country=OuterRef("pk"))))

    def get_by_natural_key(self, code):
        return self.get(code=code)

    def partnership_tables(self, partnerships):
        """Countries by number of ``partnerships`` (bilateral), and the pairs of countries.

        One grouped query over the pairs of the two sides' countries (then one for the
        countries), not a count per country. Returns ``(countries, pairs)``: the countries
        with any partnership, the most first (then by code), each with ``partnerships`` (a
        German–French partnership counts once for Germany and once for France, a German–German
        one once for Germany) and a dense ``rank`` (equal counts share a rank); and the pairs,
        either way round, as ``low`` and ``high`` (the two countries in alphabetical order of
        code) and ``count``, the most frequent first.
        """
        per_pair = Counter()
        for first, second, count in (
            partnerships.order_by()
            .values_list("first__country", "second__country")
            .annotate(count=Count("pk"))
        ):
            per_pair[frozenset((first, second))] += count
        named = self.in_bulk({pk for pair in per_pair for pk in pair})
        per_country = Counter()
        pairs = []
        for pair, count in per_pair.items():
            countries = sorted((named[pk] for pk in pair), key=lambda country: country.code)
            per_country.update(dict.fromkeys(pair, count))
            pairs.append({"low": countries[0], "high": countries[-1], "count": count})
        pairs.sort(key=lambda pair: (-pair["count"], pair["low"].code, pair["high"].code))
        ranked = sorted(named.values(), key=lambda c: (-per_country[c.pk], c.code))
        ranks = {
            count: rank
            for rank, count in enumerate(sorted(set(per_country.values()), reverse=True), 1)
        }
        for country in ranked:
            country.partnerships = per_country[country.pk]
            country.rank = ranks[country.partnerships]
        return ranked, pairs

    def with_partnership_counts(self, partnerships):
        """The countries of :meth:`partnership_tables`."""
        return self.partnership_tables(partnerships)[0]


class Country(models.Model):
    code = models.CharField(
        _("code"),
        max_length=4,
        unique=True,
        help_text=_("ISO 3166-1 alpha-2 (DE), or ISO 3166-3 alpha-4 for a former state (DDDE)."),
    )
    alpha3 = models.CharField(_("alpha-3 code"), max_length=3, blank=True)
    name_en = models.CharField(_("English name"), max_length=100)
    name_de = models.CharField(_("German name"), max_length=100)
    ended = PartialDateField(
        _("ended"),
        null=True,
        blank=True,
        help_text=_("When a former state ceased to exist (ISO 3166-3 withdrawal date)."),
    )
    successors = models.ManyToManyField(
        "self",
        symmetrical=False,
        related_name="predecessors",
        blank=True,
        verbose_name=_("successor states"),
    )

    objects = CountryQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["name_en"]
        verbose_name = _("country")
        verbose_name_plural = _("countries")

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.code,)

    @property
    def name(self):
        return _localized(self, "name")

    @property
    def historical(self):
        return self.ended is not None


class RegionManager(models.Manager):
    def get_by_natural_key(self, country_code, name):
        return self.get(country__code=country_code, name=name)


class Region(models.Model):
    """A first-level division: a Bundesland, a département, a county, a prefecture."""

    country = models.ForeignKey(
        Country, models.PROTECT, related_name="regions", verbose_name=_("country")
    )
    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("ISO 3166-2 code"), max_length=10, blank=True)

    objects = RegionManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["country", "name"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        constraints = [
            models.UniqueConstraint(
                fields=["country", "name"],
                name="region_unique_name_per_country",
                violation_error_message=_("This country already has a region of that name."),
            ),
        ]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (*self.country.natural_key(), self.name)

    natural_key.dependencies = ["registry.country"]


class ImportRun(models.Model):
    """One run of an import command that wrote to the registry: what came in, from where."""

    created = models.DateTimeField(_("imported at"), auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    file_name = models.CharField(_("file"), max_length=500)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    rows_rejected = models.PositiveIntegerField(_("rows rejected"), default=0)
    municipalities_created = models.PositiveIntegerField(_("municipalities created"), default=0)
    municipalities_matched = models.PositiveIntegerField(_("municipalities matched"), default=0)
    partnerships_created = models.PositiveIntegerField(_("partnerships created"), default=0)
    duplicates_merged = models.PositiveIntegerField(_("duplicates merged"), default=0)
    already_present = models.PositiveIntegerField(_("already in the registry"), default=0)
    events_created = models.PositiveIntegerField(_("events created"), default=0)
    memberships_created = models.PositiveIntegerField(_("members added"), default=0)
    changes_created = models.PositiveIntegerField(_("changes of kind or status created"), default=0)
    reverted = models.DateTimeField(_("reverted at"), null=True, blank=True, editable=False)
    reverted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("reverted by"),
    )

    class Meta:
        ordering = ["-created"]
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")

    def __str__(self):
        return f"{self.file_name} ({self.created:%Y-%m-%d %H:%M})"

    def revert(self, user):
        """Take back what this run wrote, and record on the run who did so and when.

        The events, members and changes of kind and status it created are deleted; then the
        partnerships and networks it created, with their members, dated changes and events;
        then the municipalities it created that no longer take part in any partnership,
        membership or event, and that no other record names (an alternative name, an
        association, a town that is part of it or merged into it).
        Partner counts follow through registry.signals; every deleted row keeps its "-"
        entry in the history. One transaction: all of it or nothing. Returns how many rows of
        each of those models (partnerships, municipalities, members, events, changes of kind
        and of status) went, as ``{model: count}``, those deleted with a partnership included;
        an empty dict if the run was reverted before.
        """
        deleted = Counter()
        with transaction.atomic():
            run = ImportRun.objects.select_for_update().get(pk=self.pk)
            if run.reverted:
                self.reverted, self.reverted_by_id = run.reverted, run.reverted_by_id
                return {}
            for model in (Event, Membership, KindChange, StatusChange, Partnership):
                deleted.update(model.objects.filter(import_run=run).delete()[1])
            town = OuterRef("pk")
            in_use = (
                Exists(Partnership.objects.filter(Q(first=town) | Q(second=town)))
                | Exists(Membership.objects.filter(municipality=town))
                | Exists(Event.objects.filter(municipality=town))
                | Exists(AlternativeName.objects.filter(municipality=town))
                | Exists(Association.objects.filter(municipality=town))
                | Exists(Municipality.objects.filter(Q(parent=town) | Q(successor=town)))
            )
            towns = Municipality.objects.filter(import_run=run).exclude(in_use)
            deleted.update(towns.delete()[1])
            run.reverted, run.reverted_by = timezone.now(), user
            run.save(update_fields=["reverted", "reverted_by"])
        self.reverted, self.reverted_by = run.reverted, user
        reported = (Partnership, Municipality, Membership, Event, KindChange, StatusChange)
        return {model: deleted[model._meta.label] for model in reported}


class MunicipalityQuerySet(models.QuerySet):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)

    def search(self, term):
        """Match the folded name or any alternative name; "koln", "Koeln" and "Cologne" find
        Köln."""
        keys = search_keys(term)
        if not keys:
            return self
        names, alternatives = Q(), Q()
        for key in keys:
            names |= Q(name_folded__contains=key)
            alternatives |= Q(name_folded__contains=key)
        return self.filter(
            names
            | Exists(AlternativeName.objects.filter(alternatives, municipality=OuterRef("pk")))
        )

    def for_list(self):
        return self.select_related("country", "region")

    def ranking_columns(self):
        """Only what a ranking shows (name, slug, country)."""
        return (
            self.select_related(None)
            .select_related("country")
            .only("name", "slug", "country__code", "country__name_en", "country__name_de")
        )

    def ranked(self):
        return self.for_list().filter(partner_count__gt=0).order_by("-partner_count", "name")

    def ranked_on(self, day):
        """Municipalities with their count of partnerships in force at the end of ``day``."""
        return self.counting(Partnership.objects.in_force_on(day))

    def counting(self, partnerships, domestic="include"):
        """Those taking part in any of ``partnerships``, with ``partners_then``: in how many;
        ``rank``, its dense rank (24, 20, 20, 18 → 1, 2, 2, 3); and ``list_total``, how many
        are counted. Filter before counting: the ranks and the total are those among the
        municipalities this queryset holds.

        Set-based (:class:`_ParticipationCounts`): the participations in those partnerships
        are grouped by municipality alone, ranked and counted in that narrow query, and only
        its groups are joined with the municipalities. A partnership counts once (a joint
        partner is one participation, a side that is also listed as a member another one is
        not). ``domestic`` keeps only partners in the municipality's own country (``only``),
        only those elsewhere (``exclude``), or all (``include``), by today's countries; the
        partner of a joint partner is the other side's main partner.
        """
        within = self.values("pk") if self.query.has_filters() else None
        counts = _ParticipationCounts(partnerships, domestic, within)
        joined = _join_counts(
            self.for_list(), counts, partners_then="partners", rank="rank", list_total="total"
        )
        return joined.order_by("-partners_then", "name")

    def for_detail(self):
        return self.select_related(
            "country", "region", "parent__country", "successor__country"
        ).prefetch_related(
            "alternative_names",
            "sources",
            models.Prefetch("parts", Municipality.objects.select_related("country")),
            models.Prefetch("predecessors", Municipality.objects.select_related("country")),
        )

    def with_partners(self, has_partners=True):
        """Those with (or without) a partner by the counting rule today."""
        if has_partners:
            return self.filter(partner_count__gt=0)
        return self.filter(partner_count=0)

    def in_region(self, code):
        """In the first-level region with this ISO 3166-2 code (e.g. DE-NW), any case."""
        return self.filter(region__code__iexact=code)

    def annotate_partners(self, field="partner_count"):
        """Annotate ``partners``: the count in ``field``."""
        return self.annotate(partners=F(field))

    def with_rank(self):
        """Annotate the dense ``rank`` of ``partners``: equal counts share a rank and the next
        count takes the next number (24, 20, 20, 18 → 1, 2, 2, 3). A window over every row:
        what a page deep in the stored ranking needs is :func:`dense_ranks` instead."""
        return self.annotate(rank=Window(DenseRank(), order_by=F("partners").desc()))

    def dense_ranks(self, rows, first_page):
        """Give ``rows``, a page of this ranking (``partners`` annotated, the most first), their
        dense ``rank``: the number of distinct counts above the page's first (none on the
        first page; else one query over the index of the counts), then one more at each
        lower count. A window would rank every row before the page."""
        if not rows:
            return rows
        rank = 0
        if not first_page:
            rank = (
                self.filter(partners__gt=rows[0].partners)
                .order_by()
                .values("partners")
                .distinct()
                .count()
            )
        previous = None
        for row in rows:
            if row.partners != previous:
                rank, previous = rank + 1, row.partners
            row.rank = rank
        return rows

    def ranked_by(self, *, day=None, kind=None, status=None, domestic="include"):
        """Municipalities by a count of partners under other rules than the stored one.

        ``kind`` and ``status`` are a partnership's kind and status (``None``: any bilateral
        kind, any status); ``day`` counts the partnerships of that kind and status on that
        day from the dated records, as ``Partnership.objects.held_on()`` does (``None``: today,
        by the current kind and status). ``domestic`` is ``include`` (every partner),
        ``exclude`` (partners in another country only) or ``only`` (partners in the same
        country only), by today's countries. Annotates ``partners_then``.
        """
        if day is None:
            partnerships = Partnership.objects.bilateral()
            if kind:
                partnerships = partnerships.filter(kind=kind)
            if status:
                partnerships = partnerships.filter(status=status)
        else:
            partnerships = Partnership.objects.bilateral().held_on(day, kind=kind, status=status)
        return self.counting(partnerships, domestic)

    def recount_partners(self):
        """Store the count of partnerships in force for every municipality in this queryset.

        The counting rule: official twinnings with status active, each partnership once
        (a joint partner such as Corinto/El Realejo counts once for Köln), domestic partners
        included. Runs as one UPDATE, so callers keep it inside their transaction.
        """
        return self.update(partner_count=_partners_of_outer(Partnership.objects.counted()))


def _partners_of_outer(partnerships):
    """How many of ``partnerships`` the outer query's municipality takes part in.

    Three indexed lookups (as first, as second, as a member) rather than one OR, which no
    index serves; a member that is also a side is not counted twice. A membership's
    partnership is checked by ``EXISTS`` on its key: as ``partnership_id IN (<partnerships>)``
    SQLite walked the whole list of partnerships in force (56,000 at world scale) for each
    town, through the unique (partnership, municipality) index: recounting the 3,000 towns of
    an import of networks at world scale took 26 s, now 0.03 s.
    """
    as_member = Membership.objects.filter(
        Exists(partnerships.filter(pk=OuterRef("partnership"))), municipality=OuterRef("pk")
    ).exclude(Q(partnership__first=OuterRef("pk")) | Q(partnership__second=OuterRef("pk")))
    return sum(
        (
            Coalesce(Subquery(_count(queryset)[:1], output_field=models.IntegerField()), 0)
            for queryset in (
                partnerships.filter(first=OuterRef("pk")),
                partnerships.filter(second=OuterRef("pk")),
                as_member,
            )
        ),
        start=Value(0),
    )


class _ParticipationCounts:
    """The grouped subquery :meth:`MunicipalityQuerySet.counting` joins: ``municipality_id``
    with ``partners`` (in how many of ``partnerships`` it takes part), ``rank`` (dense, the
    most first) and ``total`` (how many municipalities are counted); only those in ``within``
    (a ``values("pk")`` query) when given; ``domestic`` as ``counting()`` says.

    The partnerships are selected once, as a common table expression that both databases
    materialise (it is read three times), and the participations (:func:`participations_sql`)
    are read from it, instead of from the view filtered by an ``IN`` over them: there, each of
    the view's three parts looked up every candidate partnership again. The ranking of 1970
    at world scale: SQLite 120 -> 72 ms, PostgreSQL 57 -> 36 ms of SQL (bench/NOTES.md).
    """

    output_field = models.IntegerField()  # of each column

    def __init__(self, partnerships, domestic="include", within=None):
        self.countries = domestic in ("only", "exclude")
        columns = ["pk", "first_id", "second_id"]
        if self.countries:
            columns += ["first__country_id", "second__country_id"]
        self.partnerships = partnerships.order_by().values_list(*columns)
        self.domestic, self.within = domestic, within

    def as_sql(self, connection):
        held, params = self.partnerships.query.get_compiler(connection=connection).as_sql()
        params = list(params)
        conditions = []
        if self.domestic == "only":
            conditions.append("t.country_id = t.partner_country_id")
        elif self.domestic == "exclude":
            conditions.append("(t.partner_id IS NULL OR t.country_id <> t.partner_country_id)")
        if self.within is not None:
            within, within_params = self.within.query.get_compiler(connection=connection).as_sql()
            conditions.append(f"t.municipality_id IN ({within})")
            params.extend(within_params)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        key, partners, rank, total = map(
            connection.ops.quote_name, ("municipality_id", "partners", "rank", "total")
        )
        participations = participations_sql("held", countries=self.countries)
        held_columns = "id, first_id, second_id"
        if self.countries:
            held_columns += ", first_country, second_country"
        counted = (
            f"COUNT(*) AS {partners}, DENSE_RANK() OVER (ORDER BY COUNT(*) DESC) AS {rank}, "
            f"COUNT(*) OVER () AS {total}"
        )
        # Table and column names of ours; every value is a parameter.
        sql = f"WITH held ({held_columns}) AS ({held}) "  # noqa: S608  # nosec B608
        sql += f"SELECT t.municipality_id AS {key}, {counted} FROM ({participations}) t"  # noqa: S608  # nosec B608
        sql += f"{where} GROUP BY t.municipality_id"
        return sql, tuple(params)


class _JoinedCounts:
    """``INNER JOIN (<counts>) alias ON alias.municipality_id = <municipality>.id``, an entry
    of a query's ``alias_map`` like Django's own ``Join``: the attributes and methods its
    docstring asks of every entry (``table_name``, ``table_alias``, ``join_type``,
    ``parent_alias``, ``as_sql()``, ``relabeled_clone()``), for a grouped subquery (``counts``:
    ``as_sql(connection)``), which Django's ORM cannot join by itself. Equal to no other join,
    so never reused for one."""

    join_type = INNER
    nullable = False
    filtered_relation = None
    table_name = "counts"

    def __init__(self, counts, parent_alias, table_alias=None):
        self.counts, self.parent_alias, self.table_alias = counts, parent_alias, table_alias

    def as_sql(self, compiler, connection):
        sql, params = self.counts.as_sql(connection)
        alias, parent, key, pk = map(
            compiler.quote_name, (self.table_alias, self.parent_alias, "municipality_id", "id")
        )
        return f"{self.join_type} ({sql}) {alias} ON ({alias}.{key} = {parent}.{pk})", params

    def relabeled_clone(self, change_map):
        return self.__class__(
            self.counts,
            change_map.get(self.parent_alias, self.parent_alias),
            change_map.get(self.table_alias, self.table_alias),
        )


class _JoinedColumn(Expression):
    """A column of a :class:`_JoinedCounts`."""

    def __init__(self, alias, column, output_field):
        super().__init__(output_field=output_field)
        self.alias, self.column = alias, column

    def as_sql(self, compiler, connection):
        return f"{compiler.quote_name(self.alias)}.{compiler.quote_name(self.column)}", []

    def relabeled_clone(self, relabels):
        alias = relabels.get(self.alias, self.alias)
        return self.__class__(alias, self.column, self.output_field)

    def get_group_by_cols(self):
        return [self]


def _join_counts(municipalities, counts, **columns):
    """``municipalities`` joined with ``counts`` (a :class:`_ParticipationCounts`), each of
    ``columns`` (``name=column``) annotated from it."""
    municipalities = municipalities.all()
    query = municipalities.query
    alias = query.join(_JoinedCounts(counts, query.get_initial_alias()))
    return municipalities.annotate(
        **{
            name: _JoinedColumn(alias, column, counts.output_field)
            for name, column in columns.items()
        }
    )


def _count(queryset):
    """A one-value COUNT(*) of ``queryset``, for use as a correlated subquery."""
    return queryset.order_by().annotate(n=Func(F("id"), function="COUNT")).values("n")


def _held_then(model, field, value, day, default):
    """Q for "``field`` was ``value`` at the end of ``day``" by the dated changes in ``model``.

    With no recorded change, the partnership's own ``field`` counts; with changes, the latest
    up to ``day`` (of equal dates, the first recorded); before the first, ``default``
    (``None``: none at all).
    """
    changes = model.objects.values("partnership")
    latest = (
        model.objects.filter(date__lte=day)
        .annotate(
            then=Window(
                FirstValue(field),
                partition_by=[F("partnership")],
                order_by=[F("date").desc(), F("pk").asc()],
            )
        )
        .filter(then=value)
        .values("partnership")
    )
    held = (~Q(pk__in=changes) & Q(**{field: value})) | Q(pk__in=latest)
    if default == value:
        held |= Q(pk__in=changes) & ~Q(pk__in=changes.filter(date__lte=day))
    return held


class Municipality(QuickDisplay, models.Model):
    class Kind(models.TextChoices):
        CITY = "city", _("city or town")
        MUNICIPALITY = "municipality", _("municipality")
        BOROUGH = "borough", _("borough or district")
        COUNTY = "county", _("county")
        REGION = "region", _("region, state or prefecture")

    name = models.CharField(_("local name"), max_length=200)
    # Unique by a constraint in Meta, not unique=True: that would add a second index for
    # LIKE on PostgreSQL, which nothing asks of a slug and every insert pays for.
    slug = models.SlugField(_("slug"), max_length=200, db_index=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind, default=Kind.CITY)
    country = models.ForeignKey(
        Country,
        models.PROTECT,
        db_index=False,  # the index on (country, name_folded) in Meta serves it
        related_name="municipalities",
        verbose_name=_("country"),
    )
    region = models.ForeignKey(
        Region,
        models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,  # a partial index in Meta, as for parent
        related_name="municipalities",
        verbose_name=_("region"),
    )
    latitude = models.DecimalField(
        _("latitude"), max_digits=8, decimal_places=5, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=8, decimal_places=5, null=True, blank=True
    )
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    parent = models.ForeignKey(
        "self",
        models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,  # a partial index in Meta: nearly every town has none
        related_name="parts",
        verbose_name=_("part of"),
        help_text=_("The body it belongs to, e.g. Berlin for Berlin-Neukölln."),
    )
    successor = models.ForeignKey(
        "self",
        models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,  # a partial index in Meta, as for parent
        related_name="predecessors",
        verbose_name=_("merged into"),
        help_text=_("The municipality it became part of, e.g. Kouvola for Kuusankoski."),
    )
    merged = PartialDateField(_("merged on"), null=True, blank=True)
    wikidata_id = models.CharField(
        _("Wikidata id"),
        max_length=20,
        blank=True,
        help_text=_("For example Q365 for Köln."),
    )
    geonames_id = models.PositiveIntegerField(_("GeoNames id"), null=True, blank=True)
    seeking_partner = models.BooleanField(_("seeks a partner"), default=False)
    seeking_description = models.TextField(
        _("what it seeks"),
        blank=True,
        help_text=_("Country, size, themes: what a partner should bring."),
    )
    website = models.URLField(_("website"), max_length=300, blank=True)
    sources = models.ManyToManyField(
        Source, blank=True, related_name="municipalities", verbose_name=_("sources")
    )
    import_run = models.ForeignKey(
        ImportRun,
        models.SET_NULL,
        db_index=False,  # looked up only to undo the import: see ImportRun.revert
        null=True,
        blank=True,
        editable=False,
        related_name="municipalities",
        verbose_name=_("created by import"),
    )
    # Derived by registry.signals on every save, fixtures included.
    name_folded = models.CharField(max_length=200, editable=False)  # indexed in Meta
    partner_count = models.PositiveIntegerField(
        _("partnerships in force"),
        default=0,
        editable=False,
        db_index=True,
        help_text=_("Kept up to date by the registry; see the counting rule."),
    )

    objects = MunicipalityQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["name_folded", "partner_count"])

    class Meta:
        ordering = ["name"]
        verbose_name = _("municipality")
        verbose_name_plural = _("municipalities")
        # Only the indexes queries use, each once: an import of 200,000 towns maintains
        # every one of them (bench/NOTES.md). Searches match inside names (LIKE '%…%'),
        # which no B-tree serves, so no LIKE index; a foreign key that is nearly always
        # empty gets a partial index over the rows that have one.
        indexes = [
            models.Index(fields=["country", "name_folded"]),
            models.Index(fields=["name_folded"], name="municipality_name_folded"),
            models.Index(
                fields=["region"], name="municipality_region", condition=Q(region__isnull=False)
            ),
            models.Index(
                fields=["parent"], name="municipality_parent", condition=Q(parent__isnull=False)
            ),
            models.Index(
                fields=["successor"],
                name="municipality_successor",
                condition=Q(successor__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["slug"], name="municipality_unique_slug"),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="municipality_latitude_range",
                violation_error_message=_("Latitude lies between -90 and 90."),
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="municipality_longitude_range",
                violation_error_message=_("Longitude lies between -180 and 180."),
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__isnull=False, longitude__isnull=False),
                name="municipality_coordinates_together",
                violation_error_message=_("Give both latitude and longitude, or neither."),
            ),
            models.CheckConstraint(
                condition=~Q(parent=F("id")),
                name="municipality_not_own_parent",
                violation_error_message=_("A municipality cannot be part of itself."),
            ),
            models.CheckConstraint(
                condition=~Q(successor=F("id")),
                name="municipality_not_own_successor",
                violation_error_message=_("A municipality cannot merge into itself."),
            ),
            models.UniqueConstraint(
                fields=["wikidata_id"],
                condition=~Q(wikidata_id=""),
                name="municipality_unique_wikidata_id",
                violation_error_message=_("Another municipality has this Wikidata id."),
            ),
            models.UniqueConstraint(
                fields=["geonames_id"],
                condition=Q(geonames_id__isnull=False),
                name="municipality_unique_geonames_id",
                violation_error_message=_("Another municipality has this GeoNames id."),
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "name_folded"}
        if update_fields is None and not self._state.adding and not kwargs.get("force_insert"):
            # The count is the registry's to keep: an instance read before a partnership
            # changed must not write its stale count back.
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name != "partner_count"
            ]
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return quick_reverse("registry:municipality", self.slug)

    def natural_key(self):
        return (self.slug,)

    def clean(self):
        super().clean()
        if self.wikidata_id:
            self.wikidata_id = self.wikidata_id.strip().upper()
            if not (self.wikidata_id[:1] == "Q" and self.wikidata_id[1:].isdigit()):
                raise ValidationError(
                    {"wikidata_id": _("A Wikidata id is Q followed by digits, e.g. Q365.")}
                )
        if self.region_id and self.country_id and self.region.country_id != self.country_id:
            raise ValidationError({"region": _("This region belongs to another country.")})
        if self.pk and self.parent_id == self.pk:
            raise ValidationError({"parent": _("A municipality cannot be part of itself.")})
        if self.pk and self.successor_id == self.pk:
            raise ValidationError({"successor": _("A municipality cannot merge into itself.")})


class AlternativeNameManager(models.Manager):
    def get_by_natural_key(self, municipality_slug, name):
        return self.get(municipality__slug=municipality_slug, name=name)


class AlternativeName(QuickDisplay, models.Model):
    class Kind(models.TextChoices):
        EXONYM = "exonym", _("name in another language")
        HISTORICAL = "historical", _("historical name")
        OFFICIAL = "official", _("other official name")
        VARIANT = "variant", _("spelling variant")

    municipality = models.ForeignKey(
        Municipality,
        models.CASCADE,
        related_name="alternative_names",
        verbose_name=_("municipality"),
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind, default=Kind.EXONYM)
    language = models.CharField(
        _("language"), max_length=10, blank=True, help_text=_("ISO 639-1 code, e.g. de.")
    )
    used_from = models.PositiveSmallIntegerField(_("used from (year)"), null=True, blank=True)
    used_until = models.PositiveSmallIntegerField(_("used until (year)"), null=True, blank=True)
    sources = models.ManyToManyField(
        Source, blank=True, related_name="alternative_names", verbose_name=_("sources")
    )
    name_folded = models.CharField(max_length=200, editable=False, db_index=True)

    objects = AlternativeNameManager()
    history = HistoricalRecords(excluded_fields=["name_folded"])

    class Meta:
        ordering = ["municipality", "name"]
        verbose_name = _("alternative name")
        verbose_name_plural = _("alternative names")
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "name"],
                name="alternative_name_unique_per_municipality",
                violation_error_message=_("This municipality already has that name."),
            ),
            models.CheckConstraint(
                condition=Q(used_until__isnull=True)
                | Q(used_from__isnull=True)
                | Q(used_until__gte=F("used_from")),
                name="alternative_name_years_in_order",
                violation_error_message=_("A name cannot go out of use before it came into use."),
            ),
        ]

    def __str__(self):
        if self.used_from or self.used_until:
            return f"{self.name} ({self.used_from or ''}–{self.used_until or ''})"
        return self.name

    def natural_key(self):
        return (*self.municipality.natural_key(), self.name)

    natural_key.dependencies = ["registry.municipality"]


class SlugManager(models.Manager):
    """Natural key by slug, for the small lookup tables."""

    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class Theme(models.Model):
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name_en = models.CharField(_("English name"), max_length=100)
    name_de = models.CharField(_("German name"), max_length=100)

    objects = SlugManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["name_en"]
        verbose_name = _("theme")
        verbose_name_plural = _("themes")

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)

    @property
    def name(self):
        return _localized(self, "name")


class Association(models.Model):
    """A partnership association or office (Partnerschaftsverein, twinning association)."""

    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=200)
    municipality = models.ForeignKey(
        Municipality,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="associations",
        verbose_name=_("based in"),
    )
    website = models.URLField(_("website"), max_length=300, blank=True)
    founded = PartialDateField(_("founded"), null=True, blank=True)

    objects = SlugManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("partnership association")
        verbose_name_plural = _("partnership associations")

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)


class PartnershipQuerySet(models.QuerySet):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)

    def counted(self):
        """The partnerships the ranking counts today: official twinnings in force."""
        return self.filter(kind=Partnership.Kind.OFFICIAL, status=Partnership.Status.ACTIVE)

    def in_force_on(self, day):
        """Official twinnings in force at the end of ``day`` (a date), from the dated records.

        The kind on that day is the latest recorded change of kind up to it (with no recorded
        change, the current kind); where sources disagree, the earliest claim of a kind
        counts from its date. The status is the latest recorded change up to that day (with
        no recorded change, the current status; before the first, active). A partnership
        counts once it has started and until it ends; one without a start date counts today
        but in no past year.
        """
        return self.held_on(day, kind=Partnership.Kind.OFFICIAL, status=Partnership.Status.ACTIVE)

    def held_on(self, day, *, kind=None, status=None):
        """Partnerships of ``kind`` with ``status`` at the end of ``day``, as
        :meth:`in_force_on` reads the dated records (``None``: any kind, any status).

        They must have started by then; unless ``status`` is ``ended`` or any, they must not
        have ended by then either.

        Set-based, so that it serves a ranking of every municipality: each condition is an
        ``IN`` over the dated changes (the latest one of each partnership up to ``day`` is
        picked by a window over the index on partnership and date), never a lookup per
        partnership.
        """
        day = day.isoformat()
        held = self.filter(start__lte=day)
        if kind:
            held = held.filter(_held_then(KindChange, "kind", kind, day, default=None))
        if status:
            default = Partnership.Status.ACTIVE.value
            held = held.filter(_held_then(StatusChange, "status", status, day, default=default))
        if status not in (None, Partnership.Status.ENDED):
            held = held.filter(Q(end__isnull=True) | Q(end__gt=day))
        return held

    def bilateral(self):
        return self.exclude(kind=Partnership.Kind.NETWORK)

    def networks(self):
        return self.filter(kind=Partnership.Kind.NETWORK)

    def involving(self, municipality):
        """The partnerships and networks ``municipality`` is a side or member of.

        One indexed lookup each for the first side, the second side and the memberships, joined
        by ``UNION ALL``: an ``OR`` of the three made PostgreSQL scan every partnership (0.2 s
        for a town at world scale, against 0.01 s so)."""
        ids = (
            Partnership.objects.filter(first=municipality)
            .values("pk")
            .union(
                Partnership.objects.filter(second=municipality).values("pk"),
                Membership.objects.filter(municipality=municipality).values("partnership_id"),
                all=True,
            )
        )
        return self.filter(pk__in=ids)

    def search(self, term):
        """Match the partnership's name or any name of a side or member, folded."""
        if not search_keys(term):
            return self
        matching = Municipality.objects.search(term).values("pk")
        return self.filter(
            Q(name__icontains=term)
            | Q(first__in=matching)
            | Q(second__in=matching)
            | Exists(
                Membership.objects.filter(partnership=OuterRef("pk"), municipality__in=matching)
            )
        )

    def for_list(self):
        return self.select_related("first__country", "second__country")

    def for_download(self):
        """As listed, with the joint partners and sources a download carries."""
        return (
            self.for_list()
            .select_related("first_country_at_signing", "second_country_at_signing")
            .prefetch_related(
                models.Prefetch(
                    "memberships",
                    Membership.objects.select_related(
                        "municipality__country", "country_at_signing"
                    ).order_by(
                        "side", F("joined").asc(nulls_last=True), "municipality__name_folded"
                    ),
                ),
                "sources",
            )
        )

    def for_detail(self):
        return self.select_related(
            "first__country",
            "second__country",
            "first_country_at_signing",
            "second_country_at_signing",
            "continues__first",
            "continues__second",
        ).prefetch_related(
            models.Prefetch(
                "memberships",
                Membership.objects.select_related("municipality__country", "country_at_signing")
                .prefetch_related("sources")
                .order_by("side", F("joined").asc(nulls_last=True), "municipality__name_folded"),
            ),
            models.Prefetch(
                "kind_changes",
                KindChange.objects.select_related("recognised_by")
                .prefetch_related("sources")
                .order_by("date", "pk"),
            ),
            models.Prefetch(
                "status_changes",
                StatusChange.objects.prefetch_related("sources").order_by("date", "pk"),
            ),
            models.Prefetch(
                "events",
                Event.objects.select_related("municipality", "country_at_time").prefetch_related(
                    "sources"
                ),
            ),
            models.Prefetch("continued_by", Partnership.objects.select_related("first", "second")),
            "sources",
            "themes",
            "associations",
        )

    def for_partners(self):
        """The partnerships of a municipality's page, with their sides and joint partners,
        oldest first."""
        return (
            self.for_list()
            .prefetch_related(
                models.Prefetch(
                    "memberships",
                    Membership.objects.select_related("municipality__country").order_by(
                        "municipality__name_folded", "pk"
                    ),
                )
            )
            .order_by(F("start").asc(nulls_last=True), "slug")
        )

    def for_network_detail(self):
        return self.networks().prefetch_related(
            models.Prefetch(
                "memberships",
                Membership.objects.select_related(
                    "municipality__country", "country_at_signing"
                ).order_by(F("joined").asc(nulls_last=True), "municipality__name_folded", "pk"),
            ),
            models.Prefetch(
                "events", Event.objects.select_related("municipality", "country_at_time")
            ),
            "sources",
        )

    def for_network_list(self):
        return self.networks().annotate(member_count=Count("memberships"))

    def of_kind(self, kind):
        """Of this kind now or at some time: the current kind, or any recorded change of kind
        (Keighley–Poix-du-Nord, official since 1986, was an adoption before)."""
        return self.filter(
            Q(kind=kind) | Exists(KindChange.objects.filter(partnership=OuterRef("pk"), kind=kind))
        )

    def in_country(self, code):
        """With a side or a member in the country with this code, by today's countries."""
        return self.filter(
            Q(first__country__code=code)
            | Q(second__country__code=code)
            | Exists(
                Membership.objects.filter(
                    partnership=OuterRef("pk"), municipality__country__code=code
                )
            )
        )

    def between_countries(self, one, other):
        """Bilateral partnerships between these two countries, either way round (by today's
        countries of the two sides); ``one == other`` gives the domestic ones."""
        return self.filter(
            Q(first__country__code=one, second__country__code=other)
            | Q(first__country__code=other, second__country__code=one)
        )

    def signed_in(self, code):
        """With a side or member that was in this country at signing (CSHH, DDDE, ...).

        Where the record gives no country at signing, the present country is taken.
        """
        return self.filter(
            Q(first_country_at_signing__code=code)
            | Q(first_country_at_signing__isnull=True, first__country__code=code)
            | Q(second_country_at_signing__code=code)
            | Q(second_country_at_signing__isnull=True, second__country__code=code)
            | Exists(
                Membership.objects.filter(partnership=OuterRef("pk")).filter(
                    Q(country_at_signing__code=code)
                    | Q(country_at_signing__isnull=True, municipality__country__code=code)
                )
            )
        )

    def founded_from(self, year):
        """Begun in ``year`` or later (at any precision); those of unknown start are left out."""
        return self.filter(start__gte=f"{year:04d}")

    def founded_to(self, year):
        """Begun in ``year`` or earlier (at any precision); those of unknown start are left out."""
        return self.filter(start__lt=f"{year + 1:04d}")

    def begun_in_years(self, years):
        """Begun in any of ``years``: the anniversaries of a year."""
        condition = Q(pk__in=[])
        for year in years:
            # A range rather than a prefix (startswith), so the index on start serves it.
            condition |= Q(start__gte=f"{year:04d}", start__lt=f"{year + 1:04d}")
        return self.filter(condition)

    def per_decade(self):
        """``decade`` (the first three digits of the start year; ``None`` for unknown starts)
        and ``count``, oldest decade first."""
        return (
            self.order_by()
            .annotate(decade=Substr("start", 1, 3))
            .values("decade")
            .annotate(count=Count("pk"))
            .order_by(F("decade").asc(nulls_last=True))
        )

    def per_kind(self):
        """``kind`` and ``count``, the most frequent first."""
        return self.order_by().values("kind").annotate(count=Count("pk")).order_by("-count", "kind")

    def totals(self):
        """How many bilateral partnerships and how many networks, in one query."""
        network = Q(kind=Partnership.Kind.NETWORK)
        return self.aggregate(
            bilateral=Count("pk", filter=~network), networks=Count("pk", filter=network)
        )


class Partnership(QuickDisplay, models.Model):
    class Kind(models.TextChoices):
        OFFICIAL = "official", _("official twinning")
        FRIENDSHIP = "friendship", _("friendship")
        CONTACT = "contact", _("informal contact")
        PROJECT = "project", _("project-limited partnership")
        ADOPTION = "adoption", _("adoption or sponsorship")
        NETWORK = "network", _("multilateral network")

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended")
        DORMANT = "dormant", _("dormant")
        ENDED = "ended", _("ended")

    class Initiative(models.TextChoices):
        ADMINISTRATION = "administration", _("town administration")
        COUNCIL = "council", _("council")
        MAYOR = "mayor", _("mayor")
        ASSOCIATION = "association", _("association")
        CITIZENS = "citizens", _("citizens")
        SCHOOL = "school", _("school")
        CHURCH = "church", _("church")
        UNIVERSITY = "university", _("university")
        BUSINESS = "business", _("business")
        OCCUPATION = "occupation", _("occupying power")
        OTHER = "other", _("other")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind, default=Kind.OFFICIAL)
    slug = models.SlugField(  # unique by a constraint in Meta, as Municipality.slug
        _("slug"),
        max_length=200,
        db_index=False,
        blank=True,
        help_text=_("Left empty, it is made from the partners' names."),
    )
    name = models.CharField(
        _("name"),
        max_length=200,
        blank=True,
        help_text=_(
            "Required for a network; for a bilateral partnership only where the partners' "
            "names do not say it, e.g. Köln – Corinto / El Realejo."
        ),
    )
    first = models.ForeignKey(
        Municipality,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="partnerships_as_first",
        verbose_name=_("first partner (sponsor of an adoption)"),
    )
    first_name_at_signing = models.CharField(
        _("first partner's name at signing"), max_length=200, blank=True
    )
    first_country_at_signing = models.ForeignKey(
        Country,
        models.PROTECT,
        null=True,
        blank=True,
        db_index=False,  # a partial index in Meta: set only where the country changed
        related_name="+",
        verbose_name=_("first partner's country at signing"),
    )
    second = models.ForeignKey(
        Municipality,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="partnerships_as_second",
        verbose_name=_("second partner (sponsored side of an adoption)"),
    )
    second_name_at_signing = models.CharField(
        _("second partner's name at signing"), max_length=200, blank=True
    )
    second_country_at_signing = models.ForeignKey(
        Country,
        models.PROTECT,
        null=True,
        blank=True,
        db_index=False,  # a partial index in Meta: set only where the country changed
        related_name="+",
        verbose_name=_("second partner's country at signing"),
    )
    start = PartialDateField(_("start"), null=True, blank=True)
    end = PartialDateField(_("end"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.ACTIVE)
    continues = models.ForeignKey(
        "self",
        models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,  # a partial index in Meta
        related_name="continued_by",
        verbose_name=_("continues"),
        help_text=_("An earlier partnership this one carries on, e.g. after a merger."),
    )
    initiative = models.CharField(
        _("initiative from"), max_length=20, choices=Initiative, blank=True
    )
    themes = models.ManyToManyField(
        Theme, blank=True, related_name="partnerships", verbose_name=_("themes")
    )
    associations = models.ManyToManyField(
        Association,
        blank=True,
        related_name="partnerships",
        verbose_name=_("partnership associations"),
    )
    description = models.TextField(_("description"), blank=True)
    sources = models.ManyToManyField(
        Source, blank=True, related_name="partnerships", verbose_name=_("sources")
    )
    import_run = models.ForeignKey(
        ImportRun,
        models.SET_NULL,
        db_index=False,  # looked up only to undo the import: see ImportRun.revert
        null=True,
        blank=True,
        editable=False,
        related_name="partnerships",
        verbose_name=_("created by import"),
    )

    objects = PartnershipQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["start", "slug"]
        verbose_name = _("partnership")
        verbose_name_plural = _("partnerships")
        # As for Municipality: no LIKE index for the slug, partial indexes for the foreign
        # keys that are nearly always empty.
        indexes = [
            models.Index(fields=["kind", "status"]),
            # Not (start, slug), the whole order: that would spare SQLite sorting the ~10%
            # without a start by slug on a list's first page (53 ms at world scale), but cost
            # every import on PostgreSQL, where this one serves the order as well
            # (bench/NOTES.md).
            models.Index(fields=["start"]),
            models.Index(
                fields=["continues"],
                name="partnership_continues",
                condition=Q(continues__isnull=False),
            ),
            models.Index(
                fields=["first_country_at_signing"],
                name="partnership_first_then",
                condition=Q(first_country_at_signing__isnull=False),
            ),
            models.Index(
                fields=["second_country_at_signing"],
                name="partnership_second_then",
                condition=Q(second_country_at_signing__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["slug"], name="partnership_unique_slug"),
            models.CheckConstraint(
                condition=~Q(first=F("second")),
                name="partnership_not_with_itself",
                violation_error_message=_("A municipality cannot be partnered with itself."),
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="network", first__isnull=True, second__isnull=True)
                    | (~Q(kind="network") & Q(first__isnull=False, second__isnull=False))
                ),
                name="partnership_bilateral_has_two_sides",
                violation_error_message=_(
                    "A bilateral partnership has exactly two partners; "
                    "a network has members instead."
                ),
            ),
            models.UniqueConstraint(
                Least("first", "second"),
                Greatest("first", "second"),
                "kind",
                condition=Q(first__isnull=False, second__isnull=False),
                name="partnership_unique_pair_per_kind",
                violation_error_message=_(
                    "These two municipalities already have a partnership of this kind."
                ),
            ),
            models.CheckConstraint(
                condition=end_not_before_start("start", "end"),
                name="partnership_end_not_before_start",
                violation_error_message=_("The end cannot be before the start."),
            ),
            models.CheckConstraint(
                condition=~Q(kind="network") | ~Q(name=""),
                name="partnership_network_has_name",
                violation_error_message=_("A network needs a name."),
            ),
        ]

    def __str__(self):
        if self.name or not (self.first_id and self.second_id):
            return self.name or self.slug
        return f"{self.first.name} – {self.second.name}"

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = self._free_slug()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        if self.is_network:
            return quick_reverse("registry:network", self.slug)
        return quick_reverse("registry:partnership", self.pk)

    def natural_key(self):
        return (self.slug,)

    def clean(self):
        super().clean()
        errors = {}
        if self.kind == self.Kind.NETWORK:
            if self.first_id or self.second_id:
                errors["first"] = _(
                    "A network has no sides: add its towns as members below instead."
                )
            if not self.name:
                errors["name"] = _("A network needs a name.")
        else:
            if not self.first_id:
                errors["first"] = _("A bilateral partnership needs a first partner.")
            if not self.second_id:
                errors["second"] = _("A bilateral partnership needs a second partner.")
            if self.first_id and self.first_id == self.second_id:
                errors["second"] = _("A municipality cannot be partnered with itself.")
        if self.start and self.end and not self._end_not_before_start():
            errors["end"] = _("The end cannot be before the start.")
        if errors:
            raise ValidationError(errors)
        duplicate = self.duplicate_pair()
        if duplicate is not None:
            raise ValidationError(
                {
                    "second": _(
                        "These two municipalities already have a partnership of this kind: "
                        "%(partnership)s."
                    )
                    % {"partnership": duplicate}
                }
            )

    def _end_not_before_start(self):
        return self.end >= self.start or self.start.startswith(self.end)

    def duplicate_pair(self):
        """Another partnership of the same kind between the same two towns, either way round."""
        if not (self.first_id and self.second_id):
            return None
        self._lock_pair()
        pair = Q(first_id=self.first_id, second_id=self.second_id) | Q(
            first_id=self.second_id, second_id=self.first_id
        )
        return (
            Partnership.objects.filter(pair, kind=self.kind)
            .exclude(pk=self.pk)
            .select_related("first", "second")
            .first()
        )

    def _lock_pair(self):
        """On PostgreSQL, hold a lock on this pair and kind until the transaction ends.

        Two staff creating the same pair at the same moment would otherwise both pass the
        duplicate check; with the lock, the second waits, then sees the first's row and gets
        the form's message instead of a database error. (SQLite lets one writer in at a time.)
        """
        if connection.vendor != "postgresql" or not connection.in_atomic_block:
            return
        low, high = sorted([self.first_id, self.second_id])
        key = zlib.crc32(f"partnership:{low}:{high}:{self.kind}".encode())
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])

    def _free_slug(self):
        if self.kind == self.Kind.NETWORK or not (self.first_id and self.second_id):
            base = slugify(fold(self.name)) or "network"
        else:
            base = f"{self.first.slug}--{self.second.slug}"
        base = base[:180]
        candidates = [base, f"{base}--{self.kind}"]
        for candidate in candidates:
            if not Partnership.objects.filter(slug=candidate).exclude(pk=self.pk).exists():
                return candidate
        number = 2
        while Partnership.objects.filter(slug=f"{base}--{number}").exists():
            number += 1
        return f"{base}--{number}"

    @property
    def is_network(self):
        return self.kind == self.Kind.NETWORK


class MembershipManager(models.Manager):
    def get_by_natural_key(self, partnership_slug, municipality_slug):
        return self.get(partnership__slug=partnership_slug, municipality__slug=municipality_slug)


class Membership(QuickDisplay, models.Model):
    """A member of a network, or a joint partner on one side of a bilateral partnership."""

    class Side(models.TextChoices):
        NONE = "", _("network member")
        FIRST = "first", _("joint partner on the first side")
        SECOND = "second", _("joint partner on the second side")

    partnership = models.ForeignKey(
        Partnership, models.CASCADE, related_name="memberships", verbose_name=_("partnership")
    )
    municipality = models.ForeignKey(
        Municipality, models.PROTECT, related_name="memberships", verbose_name=_("municipality")
    )
    side = models.CharField(_("side"), max_length=10, choices=Side, blank=True, default="")
    joined = PartialDateField(_("joined"), null=True, blank=True)
    left = PartialDateField(_("left"), null=True, blank=True)
    name_at_signing = models.CharField(_("name at joining"), max_length=200, blank=True)
    country_at_signing = models.ForeignKey(
        Country,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("country at joining"),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    sources = models.ManyToManyField(
        Source, blank=True, related_name="memberships", verbose_name=_("sources")
    )
    import_run = models.ForeignKey(
        ImportRun,
        models.SET_NULL,
        db_index=False,  # looked up only to undo the import: see ImportRun.revert
        null=True,
        blank=True,
        editable=False,
        related_name="memberships",
        verbose_name=_("created by import"),
    )

    objects = MembershipManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["partnership", "joined", "municipality"]
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [
            models.UniqueConstraint(
                fields=["partnership", "municipality"],
                name="membership_once_per_partnership",
                violation_error_message=_("This municipality is already a member."),
            ),
            models.CheckConstraint(
                condition=end_not_before_start("joined", "left"),
                name="membership_left_not_before_joined",
                violation_error_message=_("A member cannot leave before it joined."),
            ),
        ]

    def __str__(self):
        return f"{self.municipality} ({self.partnership})"

    def natural_key(self):
        return (*self.partnership.natural_key(), *self.municipality.natural_key())

    natural_key.dependencies = ["registry.partnership", "registry.municipality"]

    def clean(self):
        super().clean()
        # On an add form the partnership is not saved yet: it is set, but has no id.
        if not (self.partnership_id or Membership.partnership.is_cached(self)):
            return
        partnership = self.partnership
        if partnership.is_network and self.side:
            raise ValidationError({"side": _("Members of a network have no side; leave it empty.")})
        if not partnership.is_network and not self.side:
            raise ValidationError({"side": _("Say which side this joint partner belongs to.")})
        if self.municipality_id and self.municipality_id in (
            partnership.first_id,
            partnership.second_id,
        ):
            raise ValidationError(
                {"municipality": _("This municipality is already one of the two partners.")}
            )
        if (
            self.joined
            and self.left
            and not (self.left >= self.joined or self.joined.startswith(self.left))
        ):
            raise ValidationError({"left": _("A member cannot leave before it joined.")})


def participations_sql(partnerships, countries=False):
    """SQL of each municipality's part in each partnership of ``partnerships`` (a table, or a
    common table expression with the id, first_id and second_id of partnerships): a row for
    either side of a bilateral partnership, and one for each member (of a network; or a joint
    partner of a side that is not already one of the two sides), with ``partner_id``: the
    other side's main partner (none for a network member).

    With ``countries``, ``partnerships`` also has the countries of the two sides
    (first_country, second_country), and each row the town's and the partner's
    (country_id, partner_country_id): looked up once per partnership rather than once per
    participation and side.
    """
    first = second = member = member_join = ""
    if countries:
        first = ", p.first_country AS country_id, p.second_country AS partner_country_id"
        second = ", p.second_country, p.first_country"
        member = (
            ", town.country_id, CASE m.side WHEN 'first' THEN p.second_country "
            "WHEN 'second' THEN p.first_country END"
        )
        member_join = " JOIN registry_municipality town ON town.id = m.municipality_id"
    return f"""
SELECT p.first_id AS municipality_id, p.second_id AS partner_id{first}
FROM {partnerships} p WHERE p.first_id IS NOT NULL
UNION ALL
SELECT p.second_id, p.first_id{second}
FROM {partnerships} p WHERE p.second_id IS NOT NULL
UNION ALL
SELECT m.municipality_id,
       CASE m.side WHEN 'first' THEN p.second_id WHEN 'second' THEN p.first_id END{member}
FROM registry_membership m JOIN {partnerships} p ON p.id = m.partnership_id{member_join}
WHERE p.first_id IS NULL
   OR (m.municipality_id <> p.first_id AND m.municipality_id <> p.second_id)
"""  # noqa: S608  # nosec B608 - names of ours


class DatedChangeManager(models.Manager):
    def get_by_natural_key(self, partnership_slug, value, date):
        field = "kind" if self.model is KindChange else "status"
        return self.get(partnership__slug=partnership_slug, **{field: value}, date=date)


class KindChange(QuickDisplay, models.Model):
    """A dated claim that a partnership was of a kind from then on.

    Conflicting claims are all kept, each with its sources: Keighley adopted Poix-du-Nord in
    1920 by one source and 1921 by another; Düsseldorf–Reading was called a twinning by Reading
    in 1975 and by Düsseldorf in 1988.
    """

    partnership = models.ForeignKey(
        Partnership, models.CASCADE, related_name="kind_changes", verbose_name=_("partnership")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Partnership.Kind)
    date = PartialDateField(_("from"))
    recognised_by = models.ForeignKey(
        Municipality,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recognised by"),
        help_text=_("Where only one side calls it so from this date."),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    sources = models.ManyToManyField(
        Source, blank=True, related_name="kind_changes", verbose_name=_("sources")
    )
    import_run = models.ForeignKey(
        ImportRun,
        models.SET_NULL,
        db_index=False,  # looked up only to undo the import: see ImportRun.revert
        null=True,
        blank=True,
        editable=False,
        related_name="kind_changes",
        verbose_name=_("created by import"),
    )

    objects = DatedChangeManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["partnership", "date"]
        verbose_name = _("change of kind")
        verbose_name_plural = _("history of kind")
        # The latest change up to a day, per partnership: a window reads this index in order.
        indexes = [models.Index(fields=["partnership", "-date", "id"], name="kind_change_latest")]
        constraints = [
            models.UniqueConstraint(
                fields=["partnership", "kind", "date"],
                name="kind_change_unique_per_date",
                violation_error_message=_("This change of kind is already recorded."),
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.date.display()}"

    def natural_key(self):
        return (*self.partnership.natural_key(), self.kind, str(self.date))

    natural_key.dependencies = ["registry.partnership"]


class StatusChange(QuickDisplay, models.Model):
    partnership = models.ForeignKey(
        Partnership, models.CASCADE, related_name="status_changes", verbose_name=_("partnership")
    )
    status = models.CharField(_("status"), max_length=20, choices=Partnership.Status)
    date = PartialDateField(_("from"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    sources = models.ManyToManyField(
        Source, blank=True, related_name="status_changes", verbose_name=_("sources")
    )
    import_run = models.ForeignKey(
        ImportRun,
        models.SET_NULL,
        db_index=False,  # looked up only to undo the import: see ImportRun.revert
        null=True,
        blank=True,
        editable=False,
        related_name="status_changes",
        verbose_name=_("created by import"),
    )

    objects = DatedChangeManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["partnership", "date"]
        verbose_name = _("change of status")
        verbose_name_plural = _("history of status")
        indexes = [models.Index(fields=["partnership", "-date", "id"], name="status_change_latest")]
        constraints = [
            models.UniqueConstraint(
                fields=["partnership", "status", "date"],
                name="status_change_unique_per_date",
                violation_error_message=_("This change of status is already recorded."),
            ),
        ]

    def __str__(self):
        return f"{self.get_status_display()} {self.date.display()}"

    def natural_key(self):
        return (*self.partnership.natural_key(), self.status, str(self.date))

    natural_key.dependencies = ["registry.partnership"]


class EventQuerySet(models.QuerySet):
    def for_timeline(self):
        return self.select_related(
            "municipality__country",
            "partnership__first",
            "partnership__second",
            "country_at_time",
        ).order_by("date", "title", "pk")

    def about(self, municipality):
        """The events of a municipality and of every partnership or network it is in."""
        # UNION ALL of two indexed lookups, not an OR that scans every event (see involving).
        ids = (
            Event.objects.filter(municipality=municipality)
            .values("pk")
            .union(
                Event.objects.filter(
                    partnership__in=Partnership.objects.involving(municipality).values("pk")
                ).values("pk"),
                all=True,
            )
        )
        return self.filter(pk__in=ids)

    def awards(self):
        return self.filter(kind=Event.Kind.AWARD)


class EventManager(models.Manager.from_queryset(EventQuerySet)):
    def get_by_natural_key(self, partnership_slug, municipality_slug, kind, date, title):
        subject = (
            {"partnership__slug": partnership_slug}
            if partnership_slug
            else {"partnership": None, "municipality__slug": municipality_slug}
        )
        return self.get(**subject, kind=kind, date=date, title=title)


class Event(QuickDisplay, models.Model):
    """A dated happening in the life of a partnership, a network or a municipality."""

    class Kind(models.TextChoices):
        FIRST_CONTACT = "first_contact", _("first contact")
        COUNCIL_RESOLUTION = "council_resolution", _("council resolution")
        VISIT = "visit", _("visit")
        RETURN_VISIT = "return_visit", _("return visit")
        SIGNING = "signing", _("signing of the certificate")
        RE_SIGNING = "re_signing", _("re-signing")
        KIND_CHANGE = "kind_change", _("change of kind")
        SUSPENSION = "suspension", _("suspension")
        REACTIVATION = "reactivation", _("reactivation")
        TERMINATION = "termination", _("termination")
        ANNIVERSARY = "anniversary", _("anniversary")
        PROJECT = "project", _("project")
        NETWORK_MEETING = "network_meeting", _("network meeting")
        AWARD = "award", _("award")
        FOUNDING = "founding", _("founding")
        OTHER = "other", _("other")

    class Award(models.TextChoices):
        """The Council of Europe's Europe Prize ladder, lowest step first."""

        EUROPEAN_DIPLOMA = "european_diploma", _("European Diploma")
        FLAG_OF_HONOUR = "flag_of_honour", _("Flag of Honour")
        PLAQUE_OF_HONOUR = "plaque_of_honour", _("Plaque of Honour")
        EUROPE_PRIZE = "europe_prize", _("Europe Prize")
        OTHER = "other", _("other honour")

    kind = models.CharField(_("kind"), max_length=30, choices=Kind)
    title = models.CharField(_("title"), max_length=200)
    date = PartialDateField(_("date"))
    partnership = models.ForeignKey(
        Partnership,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("partnership or network"),
    )
    municipality = models.ForeignKey(
        Municipality,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("municipality"),
    )
    award = models.CharField(_("award"), max_length=30, choices=Award, blank=True)
    country_at_time = models.ForeignKey(
        Country,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("country at the time"),
    )
    place = models.CharField(_("place"), max_length=200, blank=True)
    participants = models.TextField(_("participants"), blank=True)
    description = models.TextField(_("description"), blank=True)
    sources = models.ManyToManyField(
        Source, blank=True, related_name="events", verbose_name=_("sources")
    )
    import_run = models.ForeignKey(
        ImportRun,
        models.SET_NULL,
        db_index=False,  # looked up only to undo the import: see ImportRun.revert
        null=True,
        blank=True,
        editable=False,
        related_name="events",
        verbose_name=_("created by import"),
    )

    objects = EventManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "title"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        # The second in the model's own order: the admin's list of 300,000 events read the
        # first hundred of them without sorting all (272 ms on PostgreSQL before).
        indexes = [
            models.Index(fields=["kind", "date"]),
            models.Index(fields=["date", "title"], name="event_order"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(partnership__isnull=False) | Q(municipality__isnull=False),
                name="event_has_subject",
                violation_error_message=_("An event belongs to a partnership or a municipality."),
            ),
            models.CheckConstraint(
                condition=Q(kind="award", award__gt="") | (~Q(kind="award") & Q(award="")),
                name="event_award_level_only_for_awards",
                violation_error_message=_("An award names its level; other events have none."),
            ),
            models.UniqueConstraint(
                fields=["partnership", "kind", "date", "title"],
                condition=Q(partnership__isnull=False),
                name="event_unique_per_partnership",
                violation_error_message=_("This event is already recorded."),
            ),
            models.UniqueConstraint(
                fields=["municipality", "kind", "date", "title"],
                condition=Q(partnership__isnull=True),
                name="event_unique_per_municipality",
                violation_error_message=_("This event is already recorded."),
            ),
        ]

    def __str__(self):
        return f"{self.date.display()} {self.title}"

    def natural_key(self):
        return (
            self.partnership.slug if self.partnership_id else None,
            self.municipality.slug if self.municipality_id else None,
            self.kind,
            str(self.date),
            self.title,
        )

    natural_key.dependencies = ["registry.partnership", "registry.municipality"]

    def clean(self):
        super().clean()
        if self.partnership is None and self.municipality is None:
            raise ValidationError(
                {
                    "partnership": _(
                        "An event belongs to a partnership or a municipality: choose one."
                    )
                }
            )
        if self.kind == self.Kind.AWARD and not self.award:
            raise ValidationError({"award": _("Name the level of the award.")})
        if self.kind != self.Kind.AWARD and self.award:
            raise ValidationError({"award": _("Only an award has a level.")})
