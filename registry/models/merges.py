"""Merges: one municipality merged into another in the admin, with what is needed to undo it."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Merge(models.Model):
    """Municipality B (``merged_name``, once ``merged_pk``) merged into A (``into``).

    ``snapshot`` holds every row the merge changed or deleted as it was before (B itself, its
    partnerships, members, events, names, the records that named it, and A), serialized by
    Django's serializers with their keys; ``added`` the keys of the rows it created (the
    alternative name B's name became). ``registry.merging.undo_merge`` puts them back.
    """

    created = models.DateTimeField(_("merged at"), editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("merged by"),
    )
    into = models.ForeignKey(
        "registry.Municipality",
        models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="merges",
        verbose_name=_("merged into"),
    )
    into_name = models.CharField(_("name of the municipality kept"), max_length=200)
    merged_name = models.CharField(_("name of the municipality merged"), max_length=200)
    merged_pk = models.PositiveIntegerField(_("key of the municipality merged"))
    summary = models.JSONField(_("what moved"), default=dict)
    snapshot = models.JSONField(_("rows before the merge"), default=list, editable=False)
    added = models.JSONField(_("rows the merge added"), default=dict, editable=False)
    undone = models.DateTimeField(_("undone at"), null=True, blank=True, editable=False)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("undone by"),
    )

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name = _("merge of municipalities")
        verbose_name_plural = _("merges of municipalities")
        permissions = [
            ("merge_municipality", _("Can merge municipalities, make districts and undo merges"))
        ]

    def __str__(self):
        return _("%(merged)s into %(into)s") % {"merged": self.merged_name, "into": self.into_name}
