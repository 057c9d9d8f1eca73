"""The stored partner counts after any sequence of changes equal a full recount.

Hypothesis draws sequences of creations, deletions, changes of kind and status, changes of
sides, and joint partners joining, moving and leaving, among five towns; after each sequence
every town's ``partner_count`` must equal both a count made here from the records by the
counting rule (official, active, each partnership once) and the registry's own full recount.
"""

from collections import Counter

from django.db.models import Q
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from registry.models import Country, Membership, Municipality, Partnership

Kind = Partnership.Kind
Status = Partnership.Status
TOWNS = 5
BILATERAL = [kind for kind in Kind if kind != Kind.NETWORK]

town = st.integers(0, TOWNS - 1)
pick = st.integers(0, 50)
operations = st.one_of(
    st.tuples(st.just("create"), town, town, st.sampled_from(BILATERAL), st.sampled_from(Status)),
    st.tuples(st.just("delete"), pick),
    st.tuples(st.just("kind"), pick, st.sampled_from(BILATERAL)),
    st.tuples(st.just("status"), pick, st.sampled_from(Status)),
    st.tuples(st.just("side"), pick, town),
    st.tuples(st.just("join"), pick, town, st.sampled_from(["first", "second"])),
    st.tuples(st.just("move"), pick, town),
    st.tuples(st.just("leave"), pick),
    st.tuples(st.just("network"), st.sets(town, min_size=1, max_size=TOWNS)),
)


def _nth(queryset, index):
    items = list(queryset.order_by("pk"))
    return items[index % len(items)] if items else None


def _pair_taken(first, second, kind, exclude=None):
    pair = Q(first=first, second=second) | Q(first=second, second=first)
    return Partnership.objects.filter(pair, kind=kind).exclude(pk=exclude).exists()


class StoredCountsTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        germany = Country.objects.get(code="DE")
        cls.towns = [
            Municipality.objects.create(name=f"Town {number}", slug=f"t{number}", country=germany)
            for number in range(TOWNS)
        ]

    def apply(self, operation):
        name, *args = operation
        towns = self.towns
        bilateral = Partnership.objects.bilateral()
        if name == "create":
            first, second, kind, status = towns[args[0]], towns[args[1]], args[2], args[3]
            if first != second and not _pair_taken(first, second, kind):
                Partnership.objects.create(first=first, second=second, kind=kind, status=status)
        elif name == "delete":
            link = _nth(Partnership.objects.all(), args[0])
            if link:
                link.delete()
        elif name == "kind":
            link = _nth(bilateral, args[0])
            if link and not _pair_taken(link.first, link.second, args[1], exclude=link.pk):
                link.kind = args[1]
                link.save()
        elif name == "status":
            link = _nth(Partnership.objects.all(), args[0])
            if link:
                link.status = args[1]
                link.save()
        elif name == "side":
            link, other = _nth(bilateral, args[0]), towns[args[1]]
            if (
                link
                and other.pk != link.first_id
                and not _pair_taken(link.first, other, link.kind, exclude=link.pk)
            ):
                link.second = other
                link.save()
        elif name == "join":
            link, member = _nth(bilateral, args[0]), towns[args[1]]
            if link and not link.memberships.filter(municipality=member).exists():
                Membership.objects.create(partnership=link, municipality=member, side=args[2])
        elif name == "move":
            membership, member = _nth(Membership.objects.all(), args[0]), towns[args[1]]
            taken = Membership.objects.filter(
                partnership_id=getattr(membership, "partnership_id", None), municipality=member
            )
            if membership and not taken.exists():
                membership.municipality = member
                membership.save()
        elif name == "leave":
            membership = _nth(Membership.objects.all(), args[0])
            if membership:
                membership.delete()
        elif name == "network":
            network = Partnership.objects.create(kind=Kind.NETWORK, name="Network")
            for index in sorted(args[0]):
                Membership.objects.create(partnership=network, municipality=towns[index])

    def counted_here(self):
        """Every town's partnerships in force by the counting rule, from the records."""
        counts = Counter()
        for link in Partnership.objects.counted().prefetch_related("memberships"):
            taking_part = {link.first_id, link.second_id} - {None}
            taking_part |= {m.municipality_id for m in link.memberships.all()}
            counts.update(taking_part)
        return {town.pk: counts[town.pk] for town in self.towns}

    def stored(self):
        return dict(
            Municipality.objects.filter(pk__in=[t.pk for t in self.towns]).values_list(
                "pk", "partner_count"
            )
        )

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.lists(operations, min_size=1, max_size=20))
    def test_stored_counts_equal_a_full_recount(self, sequence):
        for operation in sequence:
            self.apply(operation)
        stored = self.stored()
        assert stored == self.counted_here()
        Municipality.objects.recount_partners()
        assert self.stored() == stored
