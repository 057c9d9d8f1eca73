"""Import networks with their members, and dated changes of kind and status, from CSV.

Two more commands of the import path, with the rules of :mod:`registry.importing` and much of
its code: every row is checked before anything is written, a bad row is named by line and
column and then nothing is written (unless the good rows are asked for), the write is one
transaction of bulk inserts without model instances or per-row signals, and an
:class:`ImportRun` records the file's SHA-256 and counts, so that staff can revert it in the
admin (the members, changes, networks and towns it created carry the run).

``import_networks``: one row per member; the network is found among the registry's networks
by its name (case and accents ignored) or created, the member is found by any of its names in
its country (and region, if given) or created, as ``import_partnerships`` finds and creates
towns. ``import_changes``: one dated change of a partnership's kind or of its status per row;
the partnership is named by its slug or by its two towns, as ``import_events`` names it.
"""

import hashlib
from dataclasses import dataclass

from django.db import connection
from django.utils.text import slugify

from registry.caching import data_changed
from registry.countries import CountryResolver
from registry.dates import PartialDate, ends_before
from registry.importing import (
    _CONTROL_BYTES,
    KIND_SPELLINGS,
    MAX_NAME,
    STATUS_SPELLINGS,
    EventParser,
    ImportFileError,
    Matcher,
    Report,
    RowError,
    RowParser,
    Side,
    _analyze,
    _finish_errors,
    _fold,
    _import_transaction,
    _insert,
    _parse_all,
    _Plan,
    _Records,
    _reserve_ids,
    _subject,
    _subject_lookups,
    _without_cyclic_gc,
    _write_sources,
    _write_towns,
)
from registry.models import (
    ImportRun,
    KindChange,
    Membership,
    Municipality,
    Partnership,
    StatusChange,
)
from registry.signals import PARTNER_COUNT_LOCK
from registry.text import fold

# Networks and their members: import_networks.

NETWORK_REQUIRED = ["network", "municipality", "country"]
NETWORK_COLUMNS = [*NETWORK_REQUIRED, "region", "joined", "left", "start", "source"]


@dataclass(slots=True)
class MemberRow:
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
    name: str
    pk: int | None  # None: a network this import creates
    start: PartialDate | None
    start_line: int = 0  # the line that gave a new network its start
    members: int = 0


@dataclass
class NetworkReport(Report):
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
    def fast_parser(self, index):
        """None: every member row gets the full check."""
        return None

    def check(self, line, record, error):
        """The valid MemberRow; ``None`` after reporting a mistake through ``error``."""
        network = self.name(record, "network", error)
        name = self.name(record, "municipality", error)
        place = self.place(record, "country", error)
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
        town = Side(name, _fold(name), country, home, search_in, region, line=line)
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


@_without_cyclic_gc
def import_networks(
    data, *, file_name, skip_invalid=False, dry_run=False, user=None, progress=None, waiting=None
):
    """Import the members of networks from the CSV ``data`` (bytes); create the networks and
    towns the registry does not have.

    A network the registry has (by its name, case and accents ignored) gets the new members;
    one it does not have is created with the name of its first row and the start its rows give
    (they must not disagree, nor with the start of a network the registry has). A member the
    network has already is not added again; one listed twice is one member. Otherwise as
    :func:`registry.importing.import_partnerships`: every row validated before anything is
    written, one transaction, an :class:`ImportRun` that can be reverted, none where
    nothing is new.
    """
    report = NetworkReport()
    parser = MemberParser(CountryResolver(), check_controls=bool(_CONTROL_BYTES.search(data)))
    rows = _parse_all(data, parser, report, NETWORK_REQUIRED, NETWORK_COLUMNS, progress)
    with _import_transaction(lock=not dry_run, waiting=waiting):
        plan, networks, members = _plan_networks(rows, report)
        del rows
        _finish_errors(report)
        new_networks = [network for network in networks.values() if network.pk is None]
        report.networks_created = sum(1 for network in new_networks if network.members)
        report.networks_matched = len(networks) - len(new_networks)
        report.municipalities_created = len(plan.new_towns)
        report.municipalities_matched = len(plan.matched)
        report.memberships_created = len(members)
        if dry_run or (report.errors and not skip_invalid):
            return report
        if not (plan.new_towns or members):
            return report  # nothing new: no run either
        report.run = _write_networks(
            report, plan, networks, members, user=user, file_name=file_name, data=data
        )
    report.written = True
    return report


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
    plan = _Plan(matcher, report)
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
        ref, problem = plan._ref(row.town)
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


def _write_networks(report, plan, networks, members, *, user, file_name, data):
    run = ImportRun.objects.create(
        user=user,
        file_name=file_name[:500],
        sha256=hashlib.sha256(data).hexdigest(),
        rows_read=report.rows_read,
        rows_rejected=report.rows_rejected,
        municipalities_created=report.municipalities_created,
        municipalities_matched=report.municipalities_matched,
        partnerships_created=report.networks_created,
        memberships_created=report.memberships_created,
        duplicates_merged=report.duplicates_merged,
        already_present=report.already_present,
    )
    towns = _write_towns(run, plan.new_towns.values())
    new = [network for network in networks.values() if network.pk is None and network.members]
    if new:
        slugs = set(Partnership.objects.order_by().values_list("slug", flat=True))
        rows = []
        for pk, network in zip(_reserve_ids(Partnership, len(new)), new, strict=True):
            network.pk = pk
            slug = _network_slug(network.name, slugs)
            rows.append((pk, Partnership.Kind.NETWORK, network.name, slug, network.start, run.pk))
        _insert(Partnership, ["id", "kind", "name", "slug", "start", "import_run"], rows)
    sources = _write_sources(row.source for row in members.values())
    links = []
    ids = _reserve_ids(Membership, len(members))  # not while the rows are copied in

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

    _insert(
        Membership,
        ["id", "partnership", "municipality", "joined", "left", "country_at_signing", "import_run"],
        memberships(),
        written={Municipality: towns},
    )
    _insert(Membership.sources.through, ["membership", "source"], links, written={Membership: ids})
    _analyze(Municipality, Partnership, Membership, needed=bool(plan.matched))
    if plan.matched:
        # Members do not count as partners by the ranking's rule today; the towns that gained
        # a membership are recounted all the same, as saving a membership does
        # (registry.signals), after any other transaction's recount.
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PARTNER_COUNT_LOCK])
        Municipality.objects.filter(
            pk__in=Membership.objects.filter(import_run=run).values("municipality")
        ).exclude(import_run=run).recount_partners()
    data_changed()
    return run


# Dated changes of kind and status: import_changes.

CHANGE_REQUIRED = ["date"]
CHANGE_COLUMNS = [
    *CHANGE_REQUIRED,
    "kind",
    "status",
    "partnership",
    "municipality_a",
    "country_a",
    "region_a",
    "municipality_b",
    "country_b",
    "region_b",
    "partnership_kind",
    "source",
]


@dataclass(slots=True)
class ChangeRow:
    line: int
    field: str  # "kind" or "status"
    value: str
    date: PartialDate
    source: str
    slug: str
    a: Side | None
    b: Side | None
    partnership_kind: str
    subject: tuple = ()  # ("partnership", pk), once found


@dataclass
class ChangeReport(Report):
    kind_changes_created: int = 0
    status_changes_created: int = 0

    def summary(self):
        return {
            "rows read": self.rows_read,
            "rows rejected": self.rows_rejected,
            "changes of kind created": self.kind_changes_created,
            "changes of status created": self.status_changes_created,
            "duplicates merged": self.duplicates_merged,
            "already in the registry": self.already_present,
        }


class ChangeParser(EventParser):
    def check(self, line, record, error):
        """The valid ChangeRow; ``None`` after reporting a mistake through ``error``."""
        date = self.date(record, "date", error)
        if not record.get("date", "").strip():
            error("date", "is empty")
        given = [name for name in ("kind", "status") if record.get(name, "").strip()]
        value = None
        if len(given) == 2:
            error("status", "give the kind or the status, not both: one change per row")
        elif not given:
            error("kind", "give the kind or the status it changed to")
        elif given == ["kind"]:
            value = self.choice(record, "kind", KIND_SPELLINGS, None, error)
        else:
            value = self.choice(record, "status", STATUS_SPELLINGS, None, error)
        source = self.text(record, "source", 500, error)
        slug = record.get("partnership", "").strip()
        partnership_kind = self.choice(record, "partnership_kind", KIND_SPELLINGS, "", error)
        names = [
            record.get(f"{part}_{suffix}", "").strip()
            for part in ("municipality", "country")
            for suffix in ("a", "b")
        ]
        a = b = None
        if slug:
            if any(names):
                error("partnership", "give the partnership or the municipalities, not both")
        elif not any(names):
            error("partnership", "give the partnership's slug or its two municipalities")
        elif not (names[1] or names[3]):
            error("municipality_b", "give the partnership's other municipality, or its slug")
        else:
            a = self._town(record, "a", error)
            b = self._town(record, "b", error)
            if a and b and a.key == b.key:
                error("municipality_b", f"{b.name!r} is the same town as {a.name!r}")
        if error:
            return None
        return ChangeRow(line, given[0], value, date, source, slug, a, b, partnership_kind)


@_without_cyclic_gc
def import_changes(
    data, *, file_name, skip_invalid=False, dry_run=False, user=None, progress=None, waiting=None
):
    """Import dated changes of the kind or status of partnerships the registry has from the
    CSV ``data`` (bytes).

    A row's partnership is the one whose slug ``partnership`` gives, or the one between
    ``municipality_a`` and ``municipality_b`` (either way round; ``partnership_kind``
    chooses where they have several), found as :func:`registry.importing.import_events`
    finds it. A change the registry has (same partnership, value and date) is not created
    again; one listed twice is one change. The changes make the history a past ranking reads
    (``Municipality.objects.ranked_on``); today's kind, status and partner counts stay as
    they are. Otherwise as :func:`registry.importing.import_partnerships`: every row validated
    before anything is written, one transaction, an :class:`ImportRun` that can be reverted,
    none where nothing is new.
    """
    header = _Records(data, CHANGE_REQUIRED, CHANGE_COLUMNS).header
    if "kind" not in header and "status" not in header:
        raise ImportFileError("line 1: missing required column(s): kind or status.")
    report = ChangeReport()
    parser = ChangeParser(CountryResolver(), check_controls=bool(_CONTROL_BYTES.search(data)))
    rows = _parse_all(data, parser, report, CHANGE_REQUIRED, CHANGE_COLUMNS, progress)
    with _import_transaction(lock=not dry_run, waiting=waiting):
        new = _new_changes(rows, report)
        del rows
        _finish_errors(report)
        kinds = [row for row in new.values() if row.field == "kind"]
        statuses = [row for row in new.values() if row.field == "status"]
        report.kind_changes_created, report.status_changes_created = len(kinds), len(statuses)
        if dry_run or (report.errors and not skip_invalid) or not new:
            return report
        run = ImportRun.objects.create(
            user=user,
            file_name=file_name[:500],
            sha256=hashlib.sha256(data).hexdigest(),
            rows_read=report.rows_read,
            rows_rejected=report.rows_rejected,
            changes_created=len(new),
            duplicates_merged=report.duplicates_merged,
            already_present=report.already_present,
        )
        sources = _write_sources(row.source for row in new.values())
        for model, field, rows in (
            (KindChange, "kind", kinds),
            (StatusChange, "status", statuses),
        ):
            ids = _reserve_ids(model, len(rows))
            _insert(
                model,
                ["id", "partnership", field, "date", "import_run"],
                [
                    (pk, row.subject[1], row.value, row.date, run.pk)
                    for pk, row in zip(ids, rows, strict=True)
                ],
            )
            _insert(
                model.sources.through,
                [model._meta.model_name, "source"],
                [
                    (pk, sources[row.source])
                    for pk, row in zip(ids, rows, strict=True)
                    if row.source
                ],
                written={model: ids},
            )
        _analyze(KindChange, StatusChange, needed=False)
        data_changed()
    report.run, report.written = run, True
    return report


def _new_changes(rows, report):
    """The changes of ``rows`` the registry does not have, merged, by (field, partnership,
    value, date); what is wrong with the others goes to ``report``."""
    matcher, pairs, slugs = _subject_lookups(rows)
    networks = set()
    if slugs:
        networks = set(Partnership.objects.networks().values_list("pk", flat=True))
    found = []
    for row in rows:
        subject, problem = _subject(row, matcher, pairs, slugs)
        if not problem and row.field == "kind" and subject[1] in networks:
            problem = ("kind", f"{row.slug!r} is a network: its kind does not change")
        if problem:
            report.errors.append(RowError(row.line, *problem))
        else:
            row.subject = subject
            found.append(row)
    subjects = {row.subject[1] for row in found}
    present = set()
    for field, model in (("kind", KindChange), ("status", StatusChange)):
        if any(row.field == field for row in found):
            for partnership, value, date in (
                model.objects.order_by()
                .values_list("partnership_id", field, "date")
                .iterator(chunk_size=10_000)
            ):
                if partnership in subjects:
                    present.add((field, partnership, value, date))
    new = {}
    for row in found:
        key = (row.field, row.subject[1], row.value, row.date)
        if key in present:
            report.already_present += 1
        elif key in new:
            report.duplicates_merged += 1
            new[key].source = new[key].source or row.source
        else:
            new[key] = row
    return new
