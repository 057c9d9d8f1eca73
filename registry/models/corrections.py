"""Reports of mistakes from the public: what a visitor says is wrong on a municipality's or a
partnership's page, kept for staff with a status. Never shown publicly; the reporter's address
is not stored (the rate limit counts it in the cache, hashed: ``registry.corrections``)."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

TEXT_LENGTH = 5000
SOURCE_LENGTH = 2000


class CorrectionReportQuerySet(models.QuerySet):
    def for_list(self):
        """What the admin's list shows: the subject by name and who handled it."""
        return self.select_related(
            "municipality", "partnership__first", "partnership__second", "handled_by"
        )

    def new(self):
        return self.filter(status=CorrectionReport.Status.NEW)


class CorrectionReport(models.Model):
    """A visitor's report that something on a public page is wrong, about one municipality or
    one partnership."""

    class Status(models.TextChoices):
        NEW = "new", _("new")
        IN_PROGRESS = "in_progress", _("in progress")
        DONE = "done", _("done")
        REJECTED = "rejected", _("rejected")

    municipality = models.ForeignKey(
        "registry.Municipality",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="correction_reports",
        verbose_name=_("municipality"),
    )
    partnership = models.ForeignKey(
        "registry.Partnership",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="correction_reports",
        verbose_name=_("partnership"),
    )
    text = models.TextField(_("what is wrong"), max_length=TEXT_LENGTH)
    source = models.TextField(
        _("the right information and its source"), max_length=SOURCE_LENGTH, blank=True
    )
    name = models.CharField(_("reporter's name"), max_length=200, blank=True)
    email = models.EmailField(_("reporter's e-mail address"), blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, editable=False
    )
    created_at = models.DateTimeField(_("reported at"), default=timezone.now, editable=False)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.NEW
    )
    staff_note = models.TextField(_("staff note"), blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("handled by"),
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True, editable=False)

    objects = CorrectionReportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("correction report")
        verbose_name_plural = _("correction reports")
        indexes = [models.Index(fields=["status", "-created_at"], name="correction_status")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(municipality__isnull=False, partnership__isnull=True)
                | models.Q(municipality__isnull=True, partnership__isnull=False),
                name="correction_one_subject",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["new", "in_progress", "done", "rejected"]),
                name="correction_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    GreaterThan(Length("text"), 0), LessThanOrEqual(Length("text"), TEXT_LENGTH)
                ),
                name="correction_text_length",
            ),
            models.CheckConstraint(
                condition=models.Q(LessThanOrEqual(Length("source"), SOURCE_LENGTH)),
                name="correction_source_length",
            ),
        ]

    def __str__(self):
        return _("Report #%(pk)s on %(subject)s") % {"pk": self.pk, "subject": self.subject}

    @property
    def subject(self):
        """The municipality or partnership the report is about."""
        return self.municipality or self.partnership
