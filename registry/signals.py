"""Keep derived data in step with the records it is derived from.

``name_folded`` is the case- and accent-free search key of a name.

``Municipality.partner_count`` is what the ranking reads, so ranking never counts memberships
on a request. Every save or delete of a partnership or membership recounts the municipalities
it touched (before and after the change) in the same transaction, one transaction at a time
(see :func:`recount`).
"""

import zlib

from django.contrib.auth.models import Group, Permission
from django.db import connections, router, transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from registry.models import AlternativeName, Membership, Municipality, Partnership
from registry.text import fold

EDITORS = "Editors"
REVIEWERS = "Reviewers"


@receiver(pre_save, sender=Municipality)
@receiver(pre_save, sender=AlternativeName)
def fold_name(sender, instance, update_fields=None, **kwargs):
    """Keep the search key of a name; a signal, so that fixtures (raw saves) get it too.

    Folding can lengthen a name (the one character ﷺ folds to 18), so the key is cut to its
    column's length: PostgreSQL would refuse a longer one."""
    limit = sender._meta.get_field("name_folded").max_length
    instance.name_folded = fold(instance.name)[:limit]


PARTNER_COUNT_LOCK = zlib.crc32(b"registry:partner_count")


def recount(pks):
    """Store the partner counts of the municipalities ``pks``, one transaction at a time.

    Two transactions recounting the same town at once would each count without the other's
    change, not yet committed, and the later write would lose the earlier one's; or they
    would deadlock updating the same towns in different orders. So on PostgreSQL a recount
    first takes a lock held until its transaction ends: the next recount waits until then,
    and its UPDATE, a new statement, sees what the first committed. (SQLite lets one writer
    in at a time.)
    """
    pks = set(pks) - {None}
    if not pks:
        return
    using = router.db_for_write(Municipality)
    connection = connections[using]
    with transaction.atomic(using=using, savepoint=False):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PARTNER_COUNT_LOCK])
        Municipality.objects.using(using).filter(pk__in=pks).recount_partners()


def _sides(partnership):
    return {partnership.first_id, partnership.second_id} - {None}


@receiver(pre_save, sender=Partnership)
def remember_previous_sides(sender, instance, raw, **kwargs):
    previous = (
        sender.objects.filter(pk=instance.pk).values_list("first_id", "second_id").first()
        if instance.pk
        else None
    )
    instance._previous_sides = set(previous or ()) - {None}


@receiver(post_save, sender=Partnership)
def recount_after_partnership_save(sender, instance, **kwargs):
    touched = _sides(instance) | getattr(instance, "_previous_sides", set())
    touched |= set(instance.memberships.values_list("municipality_id", flat=True))
    recount(touched)


@receiver(post_delete, sender=Partnership)
def recount_after_partnership_delete(sender, instance, **kwargs):
    recount(_sides(instance))


@receiver(pre_save, sender=Membership)
def remember_previous_member(sender, instance, raw, **kwargs):
    instance._previous_member = (
        sender.objects.filter(pk=instance.pk).values_list("municipality_id", flat=True).first()
        if instance.pk
        else None
    )


@receiver(post_save, sender=Membership)
def recount_after_membership_save(sender, instance, **kwargs):
    recount({instance.municipality_id, getattr(instance, "_previous_member", None)})


@receiver(post_delete, sender=Membership)
def recount_after_membership_delete(sender, instance, **kwargs):
    recount({instance.municipality_id})


def grant_group_permissions(sender, app_config, using, **kwargs):
    """Give the staff groups their permissions on every model of the registry.

        The groups are created by a migration; this runs after every ``migrate`` so that a model
        added later is covered without a migration of its own. Editors may view, add and change
        (resolving a review flag is changing it), and merge municipalities (``registry.merging``,
    which they may undo); Reviewers may view, and add review flags. Nobody
        in these groups has the permission to delete (Editors may delete what they entered
        themselves within a day: ``registry.admin.base.HistoryAdmin``).
    """
    permissions = Permission.objects.using(using).filter(content_type__app_label="registry")
    grants = {
        EDITORS: permissions.filter(
            Q(codename__regex=r"^(view|add|change)_") | Q(codename="merge_municipality")
        ),
        REVIEWERS: permissions.filter(
            Q(codename__startswith="view_") | Q(codename="add_reviewflag")
        ),
    }
    for name, granted in grants.items():
        group = Group.objects.using(using).filter(name=name).first()
        if group is not None:
            group.permissions.add(*granted)
