"""Events: dated happenings in the life of a partnership, a network or a municipality."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from registry.dates import PartialDateField
from registry.models.display import QuickDisplay
from registry.models.imports import ImportRun
from registry.models.partnerships import Partnership
from registry.models.places import Country, Municipality
from registry.models.sources import Source


class EventQuerySet(models.QuerySet):
    def for_timeline(self):
        return self.select_related(
            "municipality__country",
            "partnership__first",
            "partnership__second",
            "country_at_time",
        ).order_by("date", "title", "pk")

    def about(self, municipality):
        """The events of a municipality and of every partnership or network it is in."""
        # UNION ALL of two indexed lookups, not an OR that scans every event (see involving).
        ids = (
            Event.objects.filter(municipality=municipality)
            .values("pk")
            .union(
                Event.objects.filter(
                    partnership__in=Partnership.objects.involving(municipality).values("pk")
                ).values("pk"),
                all=True,
            )
        )
        return self.filter(pk__in=ids)

    def awards(self):
        return self.filter(kind=Event.Kind.AWARD)


class EventManager(models.Manager.from_queryset(EventQuerySet)):
    def get_by_natural_key(self, partnership_slug, municipality_slug, kind, date, title):
        subject = (
            {"partnership__slug": partnership_slug}
            if partnership_slug
            else {"partnership": None, "municipality__slug": municipality_slug}
        )
        return self.get(**subject, kind=kind, date=date, title=title)


class Event(QuickDisplay, models.Model):
    """A dated happening in the life of a partnership, a network or a municipality."""

    class Kind(models.TextChoices):
        FIRST_CONTACT = "first_contact", _("first contact")
        COUNCIL_RESOLUTION = "council_resolution", _("council resolution")
        VISIT = "visit", _("visit")
        RETURN_VISIT = "return_visit", _("return visit")
        SIGNING = "signing", _("signing of the certificate")
        RE_SIGNING = "re_signing", _("re-signing")
        KIND_CHANGE = "kind_change", _("change of kind")
        SUSPENSION = "suspension", _("suspension")
        REACTIVATION = "reactivation", _("reactivation")
        TERMINATION = "termination", _("termination")
        ANNIVERSARY = "anniversary", _("anniversary")
        PROJECT = "project", _("project")
        NETWORK_MEETING = "network_meeting", _("network meeting")
        AWARD = "award", _("award")
        FOUNDING = "founding", _("founding")
        OTHER = "other", _("other")

    class Award(models.TextChoices):
        """The Council of Europe's Europe Prize ladder, lowest step first."""

        EUROPEAN_DIPLOMA = "european_diploma", _("European Diploma")
        FLAG_OF_HONOUR = "flag_of_honour", _("Flag of Honour")
        PLAQUE_OF_HONOUR = "plaque_of_honour", _("Plaque of Honour")
        EUROPE_PRIZE = "europe_prize", _("Europe Prize")
        OTHER = "other", _("other honour")

    kind = models.CharField(_("kind"), max_length=30, choices=Kind)
    title = models.CharField(_("title"), max_length=200)
    date = PartialDateField(_("date"))
    partnership = models.ForeignKey(
        Partnership,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("partnership or network"),
    )
    municipality = models.ForeignKey(
        Municipality,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("municipality"),
    )
    award = models.CharField(_("award"), max_length=30, choices=Award, blank=True)
    country_at_time = models.ForeignKey(
        Country,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("country at the time"),
    )
    place = models.CharField(_("place"), max_length=200, blank=True)
    participants = models.TextField(_("participants"), blank=True)
    description = models.TextField(_("description"), blank=True)
    sources = models.ManyToManyField(
        Source, blank=True, related_name="events", verbose_name=_("sources")
    )
    import_run = models.ForeignKey(
        ImportRun,
        models.SET_NULL,
        db_index=False,  # looked up only to undo the import: see ImportRun.revert
        null=True,
        blank=True,
        editable=False,
        related_name="events",
        verbose_name=_("created by import"),
    )

    objects = EventManager()
    # Its history is looked up by record only: no index on its relations, which an import's
    # first versions would fill for nothing (bench/NOTES.md, "History").
    history = HistoricalRecords(
        no_db_index=["partnership", "municipality", "country_at_time", "import_run"]
    )

    class Meta:
        ordering = ["date", "title"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        # The second in the model's own order: with it, the admin's list of 300,000 events
        # reads its first hundred without sorting them all.
        indexes = [
            models.Index(fields=["kind", "date"]),
            models.Index(fields=["date", "title"], name="event_order"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(partnership__isnull=False) | Q(municipality__isnull=False),
                name="event_has_subject",
                violation_error_message=_("An event belongs to a partnership or a municipality."),
            ),
            models.CheckConstraint(
                condition=Q(kind="award", award__gt="") | (~Q(kind="award") & Q(award="")),
                name="event_award_level_only_for_awards",
                violation_error_message=_("An award names its level; other events have none."),
            ),
            models.UniqueConstraint(
                fields=["partnership", "kind", "date", "title"],
                condition=Q(partnership__isnull=False),
                name="event_unique_per_partnership",
                violation_error_message=_("This event is already recorded."),
            ),
            models.UniqueConstraint(
                fields=["municipality", "kind", "date", "title"],
                condition=Q(partnership__isnull=True),
                name="event_unique_per_municipality",
                violation_error_message=_("This event is already recorded."),
            ),
        ]

    def __str__(self):
        return f"{self.date.display()} {self.title}"

    def natural_key(self):
        return (
            self.partnership.slug if self.partnership_id else None,
            self.municipality.slug if self.municipality_id else None,
            self.kind,
            str(self.date),
            self.title,
        )

    natural_key.dependencies = ["registry.partnership", "registry.municipality"]

    def clean(self):
        super().clean()
        if self.partnership is None and self.municipality is None:
            raise ValidationError(
                {
                    "partnership": _(
                        "An event belongs to a partnership or a municipality: choose one."
                    )
                }
            )
        if self.kind == self.Kind.AWARD and not self.award:
            raise ValidationError({"award": _("Name the level of the award.")})
        if self.kind != self.Kind.AWARD and self.award:
            raise ValidationError({"award": _("Only an award has a level.")})
