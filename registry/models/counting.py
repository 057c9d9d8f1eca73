"""The SQL that counts each municipality's partners, set-based, for rankings and the stored count.

The municipalities' participations in a set of partnerships (:func:`participations_sql`),
grouped and ranked in one narrow query (:class:`ParticipationCounts`) that is joined with the
municipalities (:func:`join_counts`); how many of a set of partnerships the outer query's town
takes part in, for the stored count (:func:`partners_of_outer`); and which partnerships were of
a kind or status on a day by their dated changes (:func:`held_then`). The QuerySets of
municipalities and partnerships use them.
"""

from django.db import models
from django.db.models import Exists, F, Func, OuterRef, Q, Subquery, Value, Window
from django.db.models.expressions import Expression
from django.db.models.functions import Coalesce, FirstValue
from django.db.models.sql.constants import INNER

from registry.counting import member_counts_sql, member_is_a_side


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
WHERE {member_counts_sql("m", "p")}
"""  # noqa: S608  # nosec B608 - names of ours


def partners_of_outer(partnerships):
    """How many of ``partnerships`` the outer query's municipality takes part in: an expression
    for ``MunicipalityQuerySet.recount_partners()``.

    Three indexed lookups (as first, as second, as a member) rather than one OR, which no
    index serves; a member that is also a side is not counted twice. A membership's
    partnership is checked by ``EXISTS`` on its key, not by ``partnership_id IN
    (<partnerships>)``, for which SQLite walks the whole list of partnerships in force (56,000
    at world scale) for each town: so, recounting the 3,000 towns of an import of networks at
    world scale takes 0.03 s.
    """
    # Membership's module imports this one (through the municipalities' QuerySet).
    from registry.models.partnerships import Membership

    as_member = Membership.objects.filter(
        Exists(partnerships.filter(pk=OuterRef("partnership"))), municipality=OuterRef("pk")
    ).exclude(member_is_a_side(OuterRef("pk")))
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


class ParticipationCounts:
    """The grouped subquery ``MunicipalityQuerySet.counting()`` joins: ``municipality_id``
    with ``partners`` (in how many of ``partnerships`` it takes part), ``rank`` (dense, the
    most first) and ``total`` (how many municipalities are counted); only those in ``within``
    (a ``values("pk")`` query) when given; ``domestic`` as ``counting()`` says.

    The partnerships are selected once, as a common table expression that both databases
    materialise, and each of the three parts of the participations (:func:`participations_sql`)
    reads them from it rather than looking up every candidate partnership again. The ranking
    of 1970 at world scale takes 72 ms of SQL on SQLite, 36 ms on PostgreSQL (bench/NOTES.md).
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


def join_counts(municipalities, counts, **columns):
    """``municipalities`` joined with ``counts`` (a :class:`ParticipationCounts`), each of
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


def held_then(model, field, value, day, default):
    """Q for "``field`` was ``value`` at the end of ``day``" by the dated changes in ``model``
    (KindChange or StatusChange), for ``PartnershipQuerySet.held_on()``.

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
