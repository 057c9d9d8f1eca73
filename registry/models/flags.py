"""Review flags: a Reviewer's note that a record needs an Editor's look, until resolved."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReviewFlagQuerySet(models.QuerySet):
    def of(self, record):
        """The flags of ``record``."""
        return self.filter(
            content_type=ContentType.objects.get_for_model(record), object_id=str(record.pk)
        )

    def open(self):
        return self.filter(status=ReviewFlag.Status.OPEN)

    def for_list(self):
        """What the admin's list of flags shows: who flagged and resolved, the record's type,
        and the flagged records by name: one query for each type of record on the list, with
        the relations their names read (a partnership's sides, a member's town and
        partnership)."""
        from registry.models.partnerships import Membership, Partnership

        return self.select_related("content_type", "created_by", "resolved_by").prefetch_related(
            GenericPrefetch(
                "record",
                [
                    Partnership.objects.select_related("first", "second"),
                    Membership.objects.select_related(
                        "municipality", "partnership__first", "partnership__second"
                    ),
                ],
            )
        )

    def resolve(self, user):
        """Mark the open ones among these resolved by ``user``, now; returns how many."""
        return self.open().update(
            status=ReviewFlag.Status.RESOLVED, resolved_by=user, resolved_at=timezone.now()
        )


class ReviewFlag(models.Model):
    """A record flagged for review, with the reviewer's comment."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        RESOLVED = "resolved", _("resolved")

    content_type = models.ForeignKey(
        ContentType, models.CASCADE, related_name="+", verbose_name=_("type of record")
    )
    object_id = models.CharField(_("record's key"), max_length=64)
    record = GenericForeignKey("content_type", "object_id")
    comment = models.TextField(_("comment"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("flagged by"),
    )
    created_at = models.DateTimeField(_("flagged at"), default=timezone.now, editable=False)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True, editable=False)

    objects = ReviewFlagQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("review flag")
        verbose_name_plural = _("review flags")
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="reviewflag_record"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["open", "resolved"]),
                name="reviewflag_status_valid",
            ),
        ]

    def __str__(self):
        return _("Flag #%(pk)s on %(type)s #%(key)s") % {
            "pk": self.pk,
            "type": self.content_type.name,
            "key": self.object_id,
        }
