"""Multilateral networks with their members: ``import_networks``.

One row per member: required ``network`` (its name), ``municipality``, ``country``; optional
``region``, ``joined``, ``left``, ``start`` (the network's founding date), ``source``,
``country_today`` (the successor a town of a former state that split lies in today). A
network the registry has (by its name, case and accents ignored) gets the new members; one it
does not have is created with the name of its first row and the start its rows give (they
must not disagree, nor with the start of a network the registry has). The member is found by
any of its names in its country (and region, if given), or created, as ``import_partnerships``
finds and creates towns (:class:`registry.importing.matching.Plan`). A member the network has
already is not added again; one listed twice is one member.
"""

from dataclasses import dataclass

from django.utils.text import slugify

from registry.dates import PartialDate, ends_before
from registry.importing.matching import Matcher, Placer, Plan
from registry.importing.reading import RowError
from registry.importing.rows import MAX_NAME, RowParser, Side, quick_fold
from registry.importing.runner import Import, Report
from registry.importing.writing import (
    analyze,
    insert,
    reserve_ids,
    wait_for_recounts,
    write_sources,
    write_towns,
)
from registry.models import Membership, Municipality, Partnership
from registry.text import fold

NETWORK_REQUIRED = ["network", "municipality", "country"]
NETWORK_COLUMNS = [
    *NETWORK_REQUIRED,
    "region",
    "joined",
    "left",
    "start",
    "source",
    "country_today",
]


@dataclass(slots=True)
class MemberRow:
    """A checked row of a list of network members: the network's name and the town."""

    line: int
    network: str
    network_folded: str
    town: Side
    joined: PartialDate | None
    left: PartialDate | None
    start: PartialDate | None
    source: str
    ref: tuple = ()  # the town, once matched: ("pk", id) or ("new", side key)


@dataclass(slots=True)
class NetworkPlan:
    """A network the rows name: one the registry has, or one to create."""

    name: str
    pk: int | None  # None: a network this import creates
    start: PartialDate | None
    start_line: int = 0  # the line that gave a new network its start
    members: int = 0


@dataclass
class NetworkReport(Report):
    """The :class:`Report` of a list of network members."""

    networks_created: int = 0
    networks_matched: int = 0
    memberships_created: int = 0

    def summary(self):
        return {
            "rows read": self.rows_read,
            "rows rejected": self.rows_rejected,
            "networks created": self.networks_created,
            "networks matched": self.networks_matched,
            "municipalities created": self.municipalities_created,
            "municipalities matched": self.municipalities_matched,
            "members added": self.memberships_created,
            "duplicates merged": self.duplicates_merged,
            "already in the registry": self.already_present,
        }


class MemberParser(RowParser):
    """Checks the rows of a list of network members: each is a :class:`MemberRow`."""

    def fast_parser(self, index):
        """None: every member row gets the full check."""
        return None

    def check(self, line, record, error):
        """The valid MemberRow; ``None`` after reporting a mistake through ``error``."""
        network = self.name(record, "network", error)
        name = self.name(record, "municipality", error)
        place = self.place(record, "country", error)
        if place:
            place = self.today(record, "country_today", place, error)
        region = self.text(record, "region", MAX_NAME, error, collapse=True)
        joined = self.date(record, "joined", error)
        left = self.date(record, "left", error)
        if joined and left and ends_before(left, joined):
            error("left", f"{left} is before it joined, {joined}")
        start = self.date(record, "start", error)
        source = self.text(record, "source", 500, error)
        if error:
            return None
        country, home, search_in = place
        town = Side(name, quick_fold(name), country, home, search_in, region, line=line)
        return MemberRow(line, network, fold(network), town, joined, left, start, source)


def _network_slug(name, taken):
    """The slug :meth:`Partnership.save` gives a new network named ``name``, kept apart
    from the slugs ``taken`` (which it joins)."""
    base = (slugify(fold(name)) or "network")[:180]
    for candidate in (base, f"{base}--{Partnership.Kind.NETWORK}"):
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    number = 2
    while f"{base}--{number}" in taken:
        number += 1
    taken.add(f"{base}--{number}")
    return f"{base}--{number}"


class NetworkImport(Import):
    """:class:`Import` of a list of network members."""

    required = NETWORK_REQUIRED
    columns = NETWORK_COLUMNS
    report_class = NetworkReport
    parser_class = MemberParser

    def plan(self, rows, report):
        """(the plan of the members' towns, the networks by folded name, the new members by
        (folded network name, town ref)): :func:`_plan_networks`."""
        plan, networks, members = _plan_networks(rows, report)
        new_networks = [network for network in networks.values() if network.pk is None]
        report.networks_created = sum(1 for network in new_networks if network.members)
        report.networks_matched = len(networks) - len(new_networks)
        report.municipalities_created = len(plan.new_towns)
        report.municipalities_matched = len(plan.matched)
        report.memberships_created = len(members)
        return plan, networks, members

    def creates(self, plan):
        plan, _networks, members = plan
        return bool(plan.new_towns or members)

    def run_counts(self, report):
        return {
            "municipalities_created": report.municipalities_created,
            "municipalities_matched": report.municipalities_matched,
            "partnerships_created": report.networks_created,
            "memberships_created": report.memberships_created,
        }

    def write(self, plan, run):
        _write_networks(*plan, run)


def import_networks(data, **options):
    """Import the list of network members ``data`` (the CSV file's bytes), creating the
    networks and towns the registry does not have; return its Report.

    The options, and when it writes, are those of :class:`registry.importing.runner.Import`.
    """
    return NetworkImport(data, **options).run()


def _plan_networks(rows, report):
    """What the member ``rows`` ask for: the plan of their towns, the networks by folded
    name (NetworkPlan) and the new members by (folded network name, town ref); what is
    wrong with the others goes to ``report``."""
    named = {row.network_folded for row in rows}
    existing = {}  # folded name -> [(pk, start)]
    for pk, name, start in (
        Partnership.objects.networks().order_by("pk").values_list("pk", "name", "start")
    ):
        if (folded := fold(name)) in named:
            existing.setdefault(folded, []).append((pk, start))
    present = set(
        Membership.objects.filter(
            partnership__in=[pk for found in existing.values() for pk, _start in found]
        ).values_list("partnership_id", "municipality_id")
    )
    matcher = Matcher({pk for row in rows for pk in row.town.search_in}, slugs=False)
    plan = Plan(matcher, report, Placer(row.town for row in rows))
    networks = {}  # folded name -> NetworkPlan
    members = {}  # (folded network name, town ref) -> MemberRow
    for row in rows:
        network = networks.get(row.network_folded)
        if network is None:
            found = existing.get(row.network_folded, [])
            if len(found) > 1:
                report.errors.append(
                    RowError(
                        row.line,
                        "network",
                        f"{row.network!r} names {len(found)} networks in the registry; "
                        "give each a name of its own first",
                    )
                )
                continue
            pk, start = found[0] if found else (None, None)
            network = networks[row.network_folded] = NetworkPlan(row.network, pk, start)
        if row.start and network.start != row.start and (network.pk or network.start):
            if network.pk is None:
                problem = (
                    f"{row.start} disagrees with the start {network.start} "
                    f"given on line {network.start_line}"
                )
            elif network.start:
                problem = f"the registry has {row.network!r} with the start {network.start}"
            else:
                problem = f"the registry has {row.network!r} without a start"
            report.errors.append(RowError(row.line, "start", problem))
            continue
        ref, problem = plan.town(row.town)
        if problem:
            report.errors.append(RowError(row.line, "municipality", problem))
            continue
        if network.pk is not None and ref[0] == "pk" and (network.pk, ref[1]) in present:
            report.already_present += 1
            continue
        key = (row.network_folded, ref)
        earlier = members.get(key)
        if earlier is None:
            row.ref = ref
            members[key] = row
            network.members += 1
        else:
            joined, left = earlier.joined or row.joined, earlier.left or row.left
            if joined and left and ends_before(left, joined):
                report.errors.append(
                    RowError(
                        row.line,
                        "left" if row.left else "joined",
                        f"{row.town.name!r} is listed on line {earlier.line} too; together "
                        f"they say it left ({left}) before it joined ({joined})",
                    )
                )
                continue
            report.duplicates_merged += 1
            earlier.joined, earlier.left = joined, left
            earlier.source = earlier.source or row.source
        if row.start and not network.start:
            network.start, network.start_line = row.start, row.line
    return plan, networks, members


def _write_networks(plan, networks, members, run):
    """Write the new towns, networks and members that :func:`_plan_networks` planned, with
    their sources; recount the existing towns that gained a membership."""
    towns = write_towns(run, plan.new_towns.values())
    new = [network for network in networks.values() if network.pk is None and network.members]
    if new:
        slugs = set(Partnership.objects.order_by().values_list("slug", flat=True))
        rows = []
        for pk, network in zip(reserve_ids(Partnership, len(new)), new, strict=True):
            network.pk = pk
            slug = _network_slug(network.name, slugs)
            rows.append((pk, Partnership.Kind.NETWORK, network.name, slug, network.start, run.pk))
        insert(Partnership, ["id", "kind", "name", "slug", "start", "import_run"], rows)
    sources = write_sources(row.source for row in members.values())
    links = []
    ids = reserve_ids(Membership, len(members))  # not while the rows are copied in

    def memberships():
        for pk, ((folded, ref), row) in zip(ids, members.items(), strict=True):
            town = ref[1] if ref[0] == "pk" else plan.new_towns[ref[1]].pk
            if row.source:
                links.append((pk, sources[row.source]))
            country = row.town.country
            yield (
                pk,
                networks[folded].pk,
                town,
                row.joined,
                row.left,
                country.pk if country.historical else None,
                run.pk,
            )

    insert(
        Membership,
        ["id", "partnership", "municipality", "joined", "left", "country_at_signing", "import_run"],
        memberships(),
        written={Municipality: towns},
    )
    insert(Membership.sources.through, ["membership", "source"], links, written={Membership: ids})
    analyze(Municipality, Partnership, Membership, needed=bool(plan.matched))
    if plan.matched:
        # Members do not count as partners by the ranking's rule today; the towns that gained
        # a membership are recounted all the same, as saving a membership does
        # (registry.signals), after any other transaction's recount.
        wait_for_recounts()
        Municipality.objects.filter(
            pk__in=Membership.objects.filter(import_run=run).values("municipality")
        ).exclude(import_run=run).recount_partners()
