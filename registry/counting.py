"""The counting rule: which partnerships make a municipality's partners, and how each counts.

A municipality's partners are its **official twinnings in force** (kind official, status
active), **each partnership once**: a joint partner such as Corinto / El Realejo is one
partner of Köln, and a municipality listed as a member of a partnership it is already a side
of takes part in it once, as that side. Partners in the same country count.

This module is the rule's one home: the QuerySets (``PartnershipQuerySet.counted()``), the
stored ``partner_count`` and its recount, the set-based SQL of the rankings
(``registry.models.counting``), the importer (which writes the counts of the towns it creates)
and the ranking's filter (which reads the stored count where a ranking asks for this rule)
all take it from here. It imports nothing of the models, so that every one of them can.
"""

from django.db.models import Q

KIND = "official"  # Partnership.Kind.OFFICIAL
STATUS = "active"  # Partnership.Status.ACTIVE
DOMESTIC = "include"  # partners in the same country count


def counts(kind, status):
    """Whether a partnership of this kind and status counts today."""
    return kind == KIND and status == STATUS


def counted():
    """Q of the partnerships that count today (on a partnership queryset)."""
    return Q(kind=KIND, status=STATUS)


def is_the_stored_rule(kind, status, domestic):
    """Whether a ranking's rule (kind, status, domestic) is the one ``partner_count`` stores."""
    return counts(kind, status) and domestic == DOMESTIC


def member_is_a_side(town):
    """Q, on memberships, of those whose municipality ``town`` (an ``OuterRef``) is already a
    side of the membership's partnership: such a membership does not count again."""
    return Q(partnership__first=town) | Q(partnership__second=town)


def member_counts_sql(membership="m", partnership="p"):
    """SQL condition, the same rule for raw SQL: a membership counts as a participation of its
    own when its partnership is a network (no sides) or its municipality is not one of the
    sides (a joint partner)."""
    m, p = membership, partnership
    return (
        f"({p}.first_id IS NULL"
        f" OR ({m}.municipality_id <> {p}.first_id AND {m}.municipality_id <> {p}.second_id))"
    )
