"""Merging municipality B into A, undoing a merge, and making B a district of A.

A merge moves everything of B to A: its partnerships (a partnership that would duplicate one of
A's, the same kind with the same partner, is merged into A's, both sources kept), its
memberships (one in a network A is already in is merged into A's), events, alternative names,
sources, the towns that are part of it or merged into it; B's name becomes an alternative name of
A, and B is deleted. :func:`plan_merge` says what would move, writing nothing; :func:`merge`
does it in one transaction with bulk UPDATEs, writes a version of every changed record (reason
"Merged B into A") and a :class:`~registry.models.Merge` holding every changed or deleted row
as it was, which :func:`undo_merge` puts back exactly, unless a later change touched them.

A merge is refused, with a message, where it cannot be done truthfully: a partnership between A
and B themselves (it would become A–A: staff end or delete it first), B a joint partner of one of
A's partnerships or A of one of B's, A part of B or merged into it.
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field

from django.core import serializers
from django.db import IntegrityError, router, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.history import write_versions
from registry.models import (
    AlternativeName,
    Association,
    CorrectionReport,
    Event,
    KindChange,
    Membership,
    Merge,
    Municipality,
    Partnership,
    StatusChange,
)
from registry.signals import recount


class MergeRefused(Exception):
    """A merge, an undo or a district that cannot be done; ``messages`` say why."""

    def __init__(self, messages):
        super().__init__("; ".join(messages))
        self.messages = list(messages)


@dataclass
class MergePlan:
    """What merging ``b`` into ``a`` would do (:func:`plan_merge`)."""

    a: Municipality
    b: Municipality
    refused: list = field(default_factory=list)
    moved: list = field(default_factory=list)  # B's partnerships, re-pointed to A
    merged: list = field(default_factory=list)  # (B's partnership, A's it merges into)
    memberships_moved: list = field(default_factory=list)
    memberships_merged: list = field(default_factory=list)  # (B's membership, A's)
    events: list = field(default_factory=list)
    names_moved: list = field(default_factory=list)
    names_dropped: list = field(default_factory=list)  # A has the name already
    new_name: str = ""  # B's name, A's new alternative name ("" if A has it)
    parts: list = field(default_factory=list)  # towns part of B or merged into B
    sources: list = field(default_factory=list)  # B's own sources

    def counts(self):
        """How many rows of each kind move or merge, for the preview."""
        return {
            "moved": len(self.moved),
            "merged": len(self.merged),
            "memberships_moved": len(self.memberships_moved),
            "memberships_merged": len(self.memberships_merged),
            "events": len(self.events),
            "names_moved": len(self.names_moved),
            "names_dropped": len(self.names_dropped),
            "parts": len(self.parts),
            "sources": len(self.sources),
        }


def _sides(municipality):
    return Q(first=municipality) | Q(second=municipality)


def _other(partnership, municipality):
    return (
        partnership.second_id if partnership.first_id == municipality.pk else partnership.first_id
    )


def plan_merge(a, b):
    """What merging ``b`` into ``a`` would move, merge and refuse; writes nothing.

    A fixed number of queries, whatever the number of rows that move."""
    plan = MergePlan(a, b)
    if a.pk == b.pk:
        plan.refused.append(_("A municipality cannot be merged into itself."))
        return plan
    if a.parent_id == b.pk or a.successor_id == b.pk:
        plan.refused.append(
            _("%(a)s belongs to or was merged into %(b)s: change that first.") % {"a": a, "b": b}
        )
    named = Partnership.objects.select_related("first", "second")
    a_pairs = {(_other(p, a), p.kind): p for p in named.filter(_sides(a)).exclude(first=None)}
    for partnership in named.filter(_sides(b)).order_by("pk"):
        other = _other(partnership, b)
        if other == a.pk:
            plan.refused.append(
                _(
                    "“%(partnership)s” is a partnership between the two: end or delete it "
                    "before merging."
                )
                % {"partnership": partnership}
            )
        elif (other, partnership.kind) in a_pairs:
            plan.merged.append((partnership, a_pairs[(other, partnership.kind)]))
        else:
            plan.moved.append(partnership)
    members = Membership.objects.select_related(
        "municipality", "partnership__first", "partnership__second"
    )
    for membership in members.filter(municipality=a).filter(
        Q(partnership__first=b) | Q(partnership__second=b)
    ):
        plan.refused.append(
            _("%(a)s is a joint partner of “%(partnership)s”: change that first.")
            % {"a": a, "partnership": membership.partnership}
        )
    a_members = {m.partnership_id: m for m in members.filter(municipality=a)}
    for membership in members.filter(municipality=b).order_by("pk"):
        partnership = membership.partnership
        if a.pk in (partnership.first_id, partnership.second_id):
            plan.refused.append(
                _("%(b)s is a joint partner of “%(partnership)s”: change that first.")
                % {"b": b, "partnership": partnership}
            )
        elif membership.partnership_id in a_members:
            plan.memberships_merged.append((membership, a_members[membership.partnership_id]))
        else:
            plan.memberships_moved.append(membership)
    plan.events = list(Event.objects.filter(municipality=b).order_by("date", "pk"))
    a_names = {a.name} | set(a.alternative_names.values_list("name", flat=True))
    for name in b.alternative_names.order_by("name", "pk"):
        (plan.names_dropped if name.name in a_names else plan.names_moved).append(name)
    moved_names = {name.name for name in plan.names_moved}
    plan.new_name = "" if b.name in a_names | moved_names else b.name
    plan.parts = list(Municipality.objects.filter(Q(parent=b) | Q(successor=b)).order_by("pk"))
    plan.sources = list(b.sources.order_by("pk"))
    return plan


def _ids(rows):
    return sorted({row.pk for row in rows})


def _add_m2m(model, name, pairs):
    """Add to each kept record of ``pairs`` (dropped pk, kept pk) the ``name`` M2M rows of the
    dropped one, in one INSERT."""
    through = getattr(model, name).through
    source, target = (f.attname for f in through._meta.fields if f.is_relation)
    rows = through.objects.filter(**{f"{source}__in": [d for d, _kept in pairs]})
    kept = dict(pairs)
    through.objects.bulk_create(
        [
            through(**{source: kept[getattr(row, source)], target: getattr(row, target)})
            for row in rows
        ],
        ignore_conflicts=True,
    )


def _snapshot(plan):
    """Every row the merge changes or deletes, as Django's serializers write it (with keys)."""
    a, b = plan.a, plan.b
    dropped = [d for d, _kept in plan.merged]
    partnerships = Partnership.objects.prefetch_related("themes", "associations", "sources")
    groups = [
        Municipality.objects.filter(pk__in=[b.pk, a.pk]).prefetch_related("sources"),
        partnerships.filter(
            Q(pk__in=_ids(plan.moved) + _ids(dropped))
            | Q(pk__in=[kept.pk for _d, kept in plan.merged])
            | Q(continues__in=_ids(dropped))
        ),
        Membership.objects.filter(
            Q(municipality=b)
            | Q(partnership__in=_ids(dropped))
            | Q(pk__in=[kept.pk for _m, kept in plan.memberships_merged])
        ).prefetch_related("sources"),
        Event.objects.filter(Q(municipality=b) | Q(partnership__in=_ids(dropped))).prefetch_related(
            "sources"
        ),
        KindChange.objects.filter(
            Q(partnership__in=_ids(dropped)) | Q(recognised_by=b)
        ).prefetch_related("sources"),
        StatusChange.objects.filter(partnership__in=_ids(dropped)).prefetch_related("sources"),
        AlternativeName.objects.filter(municipality=b).prefetch_related("sources"),
        Municipality.objects.filter(Q(parent=b) | Q(successor=b)).prefetch_related("sources"),
        Association.objects.filter(municipality=b),
        CorrectionReport.objects.filter(Q(municipality=b) | Q(partnership__in=_ids(dropped))),
    ]
    rows = []
    for queryset in groups:
        rows.extend(json.loads(serializers.serialize("json", queryset.order_by("pk"))))
    return rows


def _touched(snapshot):
    """``{model label: [pk, ...]}`` of the rows in ``snapshot``."""
    touched = defaultdict(set)
    for row in snapshot:
        touched[row["model"]].add(row["pk"])
    return {label: sorted(pks) for label, pks in touched.items()}


def _write_versions(rows, reason, user, history_type):
    """A version of each row of ``rows`` (``{model label: [pk, ...]}``) as it is now."""
    from django.apps import apps

    for label, pks in rows.items():
        model = apps.get_model(label)
        if not pks or not hasattr(model, "history"):
            continue
        placeholders = ", ".join(["%s"] * len(pks))
        write_versions(
            model,
            model.history.model,
            reason=reason,
            user_id=getattr(user, "pk", None),
            history_type=history_type,
            where=f"record.id IN ({placeholders})",
            params=pks,
            using=router.db_for_write(model),
        )


def _delete_with_reason(rows, reason, user):
    for row in rows:
        row._change_reason = reason
        row._history_user = user
        row.delete()


def merge(a, b, user):
    """Merge ``b`` into ``a`` (see the module); returns the :class:`Merge`. Raises
    :class:`MergeRefused` where :func:`plan_merge` refuses."""
    with transaction.atomic():
        locked = Municipality.objects.select_for_update().in_bulk([a.pk, b.pk])
        if len(locked) < 2:
            raise MergeRefused([_("One of the two municipalities no longer exists.")])
        a, b = locked[a.pk], locked[b.pk]
        plan = plan_merge(a, b)
        if plan.refused:
            raise MergeRefused(plan.refused)
        reason = _("Merged %(merged)s into %(into)s") % {"merged": b.name, "into": a.name}
        snapshot = _snapshot(plan)
        deleted = defaultdict(list)
        changed = defaultdict(set)
        touched_towns = {a.pk}

        # Partnerships that duplicate one of A's: their rows go to A's, then they go.
        pairs = [(dropped.pk, kept.pk) for dropped, kept in plan.merged]
        for name in ("sources", "themes", "associations"):
            _add_m2m(Partnership, name, pairs)
        for dropped, kept in plan.merged:
            touched_towns |= {kept.first_id, kept.second_id}
            for model in (Event, KindChange, StatusChange, CorrectionReport):
                moved = model.objects.filter(partnership=dropped)
                changed[model._meta.label] |= set(moved.values_list("pk", flat=True))
                moved.update(partnership=kept)
            continuing = Partnership.objects.filter(continues=dropped)
            changed["registry.partnership"] |= set(continuing.values_list("pk", flat=True))
            continuing.update(
                continues=Case(When(pk=kept.pk, then=Value(None)), default=Value(kept.pk))
            )
            kept_members = {
                m.municipality_id: m for m in Membership.objects.filter(partnership=kept)
            }
            for membership in Membership.objects.filter(partnership=dropped):
                touched_towns.add(membership.municipality_id)
                existing = kept_members.get(membership.municipality_id)
                if existing is None and membership.municipality_id not in (
                    kept.first_id,
                    kept.second_id,
                ):
                    Membership.objects.filter(pk=membership.pk).update(partnership=kept)
                    changed["registry.membership"].add(membership.pk)
                    continue
                if existing is not None:
                    _add_m2m(Membership, "sources", [(membership.pk, existing.pk)])
                    changed["registry.membership"].add(existing.pk)
                deleted["registry.membership"].append(membership.pk)
                _delete_with_reason([membership], reason, user)
            changed["registry.partnership"].add(kept.pk)
            deleted["registry.partnership"].append(dropped.pk)
        _delete_with_reason([dropped for dropped, _kept in plan.merged], reason, user)

        # B's other partnerships: A takes its side, under B's name and country at signing.
        for side in ("first", "second"):
            updates = {side: a.pk}
            if b.name != a.name:
                updates[f"{side}_name_at_signing"] = Case(
                    When(**{f"{side}_name_at_signing": ""}, then=Value(b.name)),
                    default=F(f"{side}_name_at_signing"),
                )
            if b.country_id != a.country_id:
                updates[f"{side}_country_at_signing"] = Coalesce(
                    F(f"{side}_country_at_signing"), Value(b.country_id)
                )
            Partnership.objects.filter(pk__in=_ids(plan.moved), **{side: b}).update(**updates)
        changed["registry.partnership"] |= set(_ids(plan.moved))
        for partnership in plan.moved:
            touched_towns.add(_other(partnership, b))

        # Memberships: merged into A's where A is a member already, else moved.
        _add_m2m(
            Membership,
            "sources",
            [(mine.pk, theirs.pk) for mine, theirs in plan.memberships_merged],
        )
        changed["registry.membership"] |= {theirs.pk for _mine, theirs in plan.memberships_merged}
        deleted["registry.membership"] += _ids(m for m, _theirs in plan.memberships_merged)
        _delete_with_reason([m for m, _theirs in plan.memberships_merged], reason, user)
        updates = {"municipality": a.pk}
        if b.name != a.name:
            updates["name_at_signing"] = Case(
                When(name_at_signing="", then=Value(b.name)), default=F("name_at_signing")
            )
        Membership.objects.filter(pk__in=_ids(plan.memberships_moved)).update(**updates)
        changed["registry.membership"] |= set(_ids(plan.memberships_moved))

        # Everything else that names B.
        for queryset, updates in (
            (Event.objects.filter(municipality=b), {"municipality": a.pk}),
            # the public's reports about B, which deleting B would delete with it
            (CorrectionReport.objects.filter(municipality=b), {"municipality": a.pk}),
            (AlternativeName.objects.filter(pk__in=_ids(plan.names_moved)), {"municipality": a}),
            (Municipality.objects.filter(parent=b), {"parent": a}),
            (Municipality.objects.filter(successor=b), {"successor": a}),
            (KindChange.objects.filter(recognised_by=b), {"recognised_by": a}),
            (Association.objects.filter(municipality=b), {"municipality": a}),
        ):
            changed[queryset.model._meta.label] |= set(queryset.values_list("pk", flat=True))
            queryset.update(**updates)
        a.sources.add(*plan.sources)
        changed["registry.municipality"].add(a.pk)
        deleted["registry.alternativename"] += _ids(plan.names_dropped)
        _delete_with_reason(plan.names_dropped, reason, user)
        created = []
        if plan.new_name:
            name = AlternativeName(
                municipality=a, name=plan.new_name, kind=AlternativeName.Kind.VARIANT
            )
            name._change_reason, name._history_user = reason, user
            name.save()
            created.append(name.pk)

        _write_versions(
            {label: sorted(pks - set(deleted[label])) for label, pks in changed.items()},
            reason,
            user,
            "~",
        )
        b_pk = b.pk
        deleted["registry.municipality"].append(b_pk)
        _delete_with_reason([b], reason, user)
        recount(touched_towns - {b_pk})
        return Merge.objects.create(
            created=timezone.now(),
            created_by=user,
            into=a,
            into_name=a.name,
            merged_name=b.name,
            merged_pk=b_pk,
            summary=plan.counts(),
            snapshot=snapshot,
            added={"alternative_names": created, "deleted": dict(deleted)},
        )


def undo_problems(merge_record):
    """Why ``merge_record`` cannot be undone (a list of messages; empty if it can)."""
    from django.apps import apps

    if merge_record.undone:
        return [_("This merge was undone before.")]
    if merge_record.into_id is None:
        return [_("The municipality it was merged into no longer exists.")]
    problems = []
    rows = _touched(merge_record.snapshot)
    rows.setdefault("registry.alternativename", [])
    rows["registry.alternativename"] += merge_record.added.get("alternative_names", [])
    for label, pks in rows.items():
        model = apps.get_model(label)
        if not hasattr(model, "history"):
            continue
        later = model.history.filter(
            **{f"{model._meta.pk.attname}__in": pks}, history_date__gt=merge_record.created
        )
        for version in later.order_by("history_date")[:5]:
            problems.append(
                _("%(record)s was changed after the merge (%(date)s): undo that first.")
                % {"record": version.instance, "date": version.history_date}
            )
    b = next(
        (
            row
            for row in merge_record.snapshot
            if row["model"] == "registry.municipality" and row["pk"] == merge_record.merged_pk
        ),
        None,
    )
    if (
        b is not None
        and Municipality.objects.filter(slug=b["fields"]["slug"])
        .exclude(pk=merge_record.merged_pk)
        .exists()
    ):
        problems.append(
            _("Another municipality now has the slug “%(slug)s”.") % {"slug": b["fields"]["slug"]}
        )
    return problems


def undo_merge(merge_record, user):
    """Put back every row ``merge_record`` changed or deleted, as it was, and delete what it
    added; a version of each; the partner counts recounted. Raises :class:`MergeRefused` if a
    later change touched them (rather than overwrite it)."""
    with transaction.atomic():
        merge_record = Merge.objects.select_for_update().get(pk=merge_record.pk)
        problems = undo_problems(merge_record)
        if problems:
            raise MergeRefused(problems)
        reason = _("Undid the merge of %(merged)s into %(into)s") % {
            "merged": merge_record.merged_name,
            "into": merge_record.into_name,
        }
        _delete_with_reason(
            AlternativeName.objects.filter(pk__in=merge_record.added.get("alternative_names", [])),
            reason,
            user,
        )
        try:
            with transaction.atomic():
                for restored in serializers.deserialize("json", json.dumps(merge_record.snapshot)):
                    restored.save()
        except IntegrityError as error:
            raise MergeRefused(
                [
                    _("A later change conflicts with the rows of the merge: %(error)s")
                    % {"error": error}
                ]
            ) from error
        rows = _touched(merge_record.snapshot)
        deleted = merge_record.added.get("deleted", {})
        _write_versions(
            {
                label: [pk for pk in pks if pk in deleted.get(label, ())]
                for label, pks in rows.items()
            },
            reason,
            user,
            "+",
        )
        _write_versions(
            {
                label: [pk for pk in pks if pk not in deleted.get(label, ())]
                for label, pks in rows.items()
            },
            reason,
            user,
            "~",
        )
        towns = set(rows.get("registry.municipality", []))
        for row in merge_record.snapshot:
            fields = row["fields"]
            towns |= (
                {fields.get("first"), fields.get("second")}
                if row["model"] == ("registry.partnership")
                else set()
            )
            if row["model"] == "registry.membership":
                towns.add(fields["municipality"])
        recount(towns)
        merge_record.undone, merge_record.undone_by = timezone.now(), user
        merge_record.save(update_fields=["undone", "undone_by"])
    return merge_record


def make_district(a, b, user):
    """Make ``b`` a district of ``a`` (its ``parent``): B keeps its partnerships. Refused for
    a town in another country, and where A is B or is itself part of B (a cycle). A version of
    B records it; reverting that version in B's history undoes it."""
    problems = district_problems(a, b)
    if problems:
        raise MergeRefused(problems)
    with transaction.atomic():
        b = Municipality.objects.select_for_update().get(pk=b.pk)
        b.parent = a
        b._change_reason = _("Made %(b)s a district of %(a)s") % {"a": a.name, "b": b.name}
        b._history_user = user
        b.save(update_fields=["parent"])
    return b


def district_problems(a, b):
    """Why ``b`` cannot become a district of ``a`` (messages; empty if it can)."""
    if a.pk == b.pk:
        return [_("A municipality cannot be part of itself.")]
    if a.country_id != b.country_id:
        return [
            _("%(a)s lies in another country than %(b)s: a district lies in its town's country.")
            % {"a": a, "b": b}
        ]
    if b.parent_id == a.pk:
        return [_("%(b)s is already a district of %(a)s.") % {"a": a, "b": b}]
    seen, parent_id = {a.pk}, a.parent_id
    while parent_id is not None and parent_id not in seen:
        if parent_id == b.pk:
            return [
                _("%(a)s is itself part of %(b)s: that would make a circle.") % {"a": a, "b": b}
            ]
        seen.add(parent_id)
        parent_id = (
            Municipality.objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
        )
    return []
