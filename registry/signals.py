"""Keep derived data in step with the records it is derived from.

``name_folded`` is the case- and accent-free search key of a name.

``Municipality.partner_count`` is what the ranking reads, so ranking never counts memberships
on a request. Every save or delete of a partnership or membership recounts the municipalities
it touched (before and after the change) in the same transaction.
"""

from django.contrib.auth.models import Group, Permission
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from registry.models import AlternativeName, Membership, Municipality, Partnership
from registry.text import fold

EDITORS = "Editors"
REVIEWERS = "Reviewers"


@receiver(pre_save, sender=Municipality)
@receiver(pre_save, sender=AlternativeName)
def fold_name(sender, instance, update_fields=None, **kwargs):
    """Keep the search key of a name; a signal, so that fixtures (raw saves) get it too."""
    instance.name_folded = fold(instance.name)


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
    Municipality.objects.filter(pk__in=touched).recount_partners()


@receiver(post_delete, sender=Partnership)
def recount_after_partnership_delete(sender, instance, **kwargs):
    Municipality.objects.filter(pk__in=_sides(instance)).recount_partners()


@receiver(pre_save, sender=Membership)
def remember_previous_member(sender, instance, raw, **kwargs):
    instance._previous_member = (
        sender.objects.filter(pk=instance.pk).values_list("municipality_id", flat=True).first()
        if instance.pk
        else None
    )


@receiver(post_save, sender=Membership)
def recount_after_membership_save(sender, instance, **kwargs):
    touched = {instance.municipality_id, getattr(instance, "_previous_member", None)} - {None}
    Municipality.objects.filter(pk__in=touched).recount_partners()


@receiver(post_delete, sender=Membership)
def recount_after_membership_delete(sender, instance, **kwargs):
    Municipality.objects.filter(pk=instance.municipality_id).recount_partners()


def grant_group_permissions(sender, app_config, using, **kwargs):
    """Give the staff groups their permissions on every model of the registry.

    The groups are created by a migration; this runs after every ``migrate`` so that a model
    added later is covered without a migration of its own. Editors may view, add and change;
    Reviewers may only view. Nobody in these groups may delete.
    """
    permissions = Permission.objects.using(using).filter(content_type__app_label="registry")
    grants = {
        EDITORS: permissions.filter(codename__regex=r"^(view|add|change)_"),
        REVIEWERS: permissions.filter(codename__startswith="view_"),
    }
    for name, granted in grants.items():
        group = Group.objects.using(using).filter(name=name).first()
        if group is not None:
            group.permissions.add(*granted)
