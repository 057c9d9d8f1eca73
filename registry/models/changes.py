"""The dated changes of a partnership's kind and status, which rankings of a past day read."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from registry.dates import PartialDateField
from registry.models.display import QuickDisplay
from registry.models.imports import ImportRun
from registry.models.partnerships import Partnership
from registry.models.places import Municipality
from registry.models.sources import Source


class DatedChangeManager(models.Manager):
    def get_by_natural_key(self, partnership_slug, value, date):
        return self.get(
            partnership__slug=partnership_slug, **{self.model.value_field: value}, date=date
        )


class DatedChange(QuickDisplay, models.Model):
    """A dated claim that, from ``date`` on, a partnership's ``value_field`` (its kind, or its
    status) had this row's value.

    Each subclass declares its fields itself, in the order of its table and forms (the fields
    of an abstract model would come before all of the subclass's own); the relations they
    share, which differ only in their related name, come from :func:`_partnership`,
    :func:`_sources` and :func:`_import_run`.
    """

    value_field = None  # the field of the subclass that the claim is about

    objects = DatedChangeManager()

    class Meta:
        # Not inherited by the subclasses' own Meta: their options stay what the migrations
        # have (an inherited Meta would add abstract=False to them).
        abstract = True

    def __str__(self):
        value = getattr(self, f"get_{self.value_field}_display")()
        return f"{value} {self.date.display()}"

    def natural_key(self):
        return (*self.partnership.natural_key(), getattr(self, self.value_field), str(self.date))

    natural_key.dependencies = ["registry.partnership"]


def _partnership(related_name):
    return models.ForeignKey(
        Partnership, models.CASCADE, related_name=related_name, verbose_name=_("partnership")
    )


def _sources(related_name):
    return models.ManyToManyField(
        Source, blank=True, related_name=related_name, verbose_name=_("sources")
    )


def _import_run(related_name):
    return models.ForeignKey(
        ImportRun,
        models.SET_NULL,
        db_index=False,  # looked up only to undo the import: see ImportRun.revert
        null=True,
        blank=True,
        editable=False,
        related_name=related_name,
        verbose_name=_("created by import"),
    )


class KindChange(DatedChange):
    """A dated claim that a partnership was of a kind from then on.

    Conflicting claims are all kept, each with its sources: Keighley adopted Poix-du-Nord in
    1920 by one source and 1921 by another; Düsseldorf–Reading was called a twinning by Reading
    in 1975 and by Düsseldorf in 1988.
    """

    value_field = "kind"

    partnership = _partnership("kind_changes")
    kind = models.CharField(_("kind"), max_length=20, choices=Partnership.Kind)
    date = PartialDateField(_("from"))
    recognised_by = models.ForeignKey(
        Municipality,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recognised by"),
        help_text=_("Where only one side calls it so from this date."),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    sources = _sources("kind_changes")
    import_run = _import_run("kind_changes")

    # Its history is looked up by record only: no index on its relations, which an import's
    # first versions would fill for nothing (bench/NOTES.md, "History").
    history = HistoricalRecords(no_db_index=["partnership", "recognised_by", "import_run"])

    class Meta:
        ordering = ["partnership", "date"]
        verbose_name = _("change of kind")
        verbose_name_plural = _("history of kind")
        # The latest change up to a day, per partnership: a window reads this index in order.
        indexes = [models.Index(fields=["partnership", "-date", "id"], name="kind_change_latest")]
        constraints = [
            models.UniqueConstraint(
                fields=["partnership", "kind", "date"],
                name="kind_change_unique_per_date",
                violation_error_message=_("This change of kind is already recorded."),
            ),
        ]


class StatusChange(DatedChange):
    """A dated claim that a partnership had a status (active, suspended, dormant, ended) from
    then on."""

    value_field = "status"

    partnership = _partnership("status_changes")
    status = models.CharField(_("status"), max_length=20, choices=Partnership.Status)
    date = PartialDateField(_("from"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    sources = _sources("status_changes")
    import_run = _import_run("status_changes")

    # Its history is looked up by record only: no index on its relations, which an import's
    # first versions would fill for nothing (bench/NOTES.md, "History").
    history = HistoricalRecords(no_db_index=["partnership", "import_run"])

    class Meta:
        ordering = ["partnership", "date"]
        verbose_name = _("change of status")
        verbose_name_plural = _("history of status")
        indexes = [models.Index(fields=["partnership", "-date", "id"], name="status_change_latest")]
        constraints = [
            models.UniqueConstraint(
                fields=["partnership", "status", "date"],
                name="status_change_unique_per_date",
                violation_error_message=_("This change of status is already recorded."),
            ),
        ]
