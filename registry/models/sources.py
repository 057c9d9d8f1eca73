"""Sources: the publications, lists and pages a record of the registry cites."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from registry.dates import PartialDateField


class SourceManager(models.Manager):
    def get_by_natural_key(self, key):
        return self.get(key=key)


class Source(models.Model):
    key = models.SlugField(
        _("key"),
        max_length=100,
        unique=True,
        help_text=_("Short stable identifier used by fixtures, e.g. koeln-de-partnerstaedte."),
    )
    citation = models.CharField(_("citation"), max_length=500)
    url = models.URLField(_("URL"), max_length=500, blank=True)
    publisher = models.CharField(_("publisher"), max_length=200, blank=True)
    published = PartialDateField(_("published"), null=True, blank=True)
    accessed = models.DateField(_("accessed"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    objects = SourceManager()
    # Its history is looked up by record only: no index on its relations, which an import's
    # first versions would fill for nothing (bench/NOTES.md, "History").
    history = HistoricalRecords(no_db_index=["key"])

    class Meta:
        ordering = ["citation"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")

    def __str__(self):
        return self.citation

    def natural_key(self):
        return (self.key,)
