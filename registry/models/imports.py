"""Import runs: what each run of an import wrote, and taking it back; the files uploaded in the
admin to be imported."""

import zlib
from collections import Counter

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Imports, and reverting one, run one after the other: on PostgreSQL each holds this advisory
# lock until its transaction ends; SQLite lets one writer in at a time anyway.
IMPORT_LOCK = zlib.crc32(b"registry:import")


class ImportRun(models.Model):
    """One run of an import command that wrote to the registry: what came in, from where."""

    created = models.DateTimeField(_("imported at"), auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("run by"),
        help_text=_("Who confirmed the import in the admin, or gave --user to the command."),
    )
    file_name = models.CharField(_("file"), max_length=500)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    rows_rejected = models.PositiveIntegerField(_("rows rejected"), default=0)
    municipalities_created = models.PositiveIntegerField(_("municipalities created"), default=0)
    municipalities_matched = models.PositiveIntegerField(_("municipalities matched"), default=0)
    partnerships_created = models.PositiveIntegerField(_("partnerships created"), default=0)
    duplicates_merged = models.PositiveIntegerField(_("duplicates merged"), default=0)
    already_present = models.PositiveIntegerField(_("already in the registry"), default=0)
    events_created = models.PositiveIntegerField(_("events created"), default=0)
    memberships_created = models.PositiveIntegerField(_("members added"), default=0)
    changes_created = models.PositiveIntegerField(_("changes of kind or status created"), default=0)
    reverted = models.DateTimeField(_("reverted at"), null=True, blank=True, editable=False)
    reverted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("reverted by"),
    )

    class Meta:
        ordering = ["-created"]
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")

    def __str__(self):
        return f"{self.file_name} ({self.created:%Y-%m-%d %H:%M})"

    def revert(self, user):
        """Take back what this run wrote, and record on the run who did so and when.

        The events, members and changes of kind and status it created are deleted; then the
        partnerships and networks it created, with their members, dated changes and events;
        then the municipalities it created that no longer take part in any partnership,
        membership or event, and that no other record names (an alternative name, an
        association, a town that is part of it or merged into it).
        Partner counts follow through registry.signals; every deleted row keeps its "-"
        entry in the history. One transaction: all of it or nothing. Returns how many rows of
        each of those models (partnerships, municipalities, members, events, changes of kind
        and of status) went, as ``{model: count}``, those deleted with a partnership included;
        an empty dict if the run was reverted before.
        """
        # Every model below has a foreign key to ImportRun, so their modules import this one.
        from registry.models.changes import KindChange, StatusChange
        from registry.models.events import Event
        from registry.models.partnerships import Association, Membership, Partnership
        from registry.models.places import AlternativeName, Municipality

        deleted = Counter()
        with transaction.atomic():
            # After any import (or other revert) has ended, so the towns found not in use
            # include none that an import is giving a partnership, and an import that
            # starts meanwhile matches only the towns left.
            ImportRun.take_import_lock()
            run = ImportRun.objects.select_for_update().get(pk=self.pk)
            if run.reverted:
                self.reverted, self.reverted_by_id = run.reverted, run.reverted_by_id
                return {}
            for model in (Event, Membership, KindChange, StatusChange, Partnership):
                deleted.update(model.objects.filter(import_run=run).delete()[1])
            town = OuterRef("pk")
            in_use = (
                Exists(Partnership.objects.filter(Q(first=town) | Q(second=town)))
                | Exists(Membership.objects.filter(municipality=town))
                | Exists(Event.objects.filter(municipality=town))
                | Exists(AlternativeName.objects.filter(municipality=town))
                | Exists(Association.objects.filter(municipality=town))
                | Exists(Municipality.objects.filter(Q(parent=town) | Q(successor=town)))
            )
            towns = Municipality.objects.filter(import_run=run).exclude(in_use)
            deleted.update(towns.delete()[1])
            run.reverted, run.reverted_by = timezone.now(), user
            run.save(update_fields=["reverted", "reverted_by"])
        self.reverted, self.reverted_by = run.reverted, user
        reported = (Partnership, Municipality, Membership, Event, KindChange, StatusChange)
        return {model: deleted[model._meta.label] for model in reported}

    def revert_preview(self):
        """What :meth:`revert` would delete now, and the towns it created that it would keep,
        without changing anything: ``({model: queryset}, kept towns)``, the models as
        :meth:`revert` reports them (the rows deleted with a partnership included)."""
        from registry.models.changes import KindChange, StatusChange
        from registry.models.events import Event
        from registry.models.partnerships import Association, Membership, Partnership
        from registry.models.places import AlternativeName, Municipality

        gone_pair = Q(partnership__import_run=self)
        events = Event.objects.filter(Q(import_run=self) | gone_pair)
        members = Membership.objects.filter(Q(import_run=self) | gone_pair)
        partnerships = Partnership.objects.filter(import_run=self)
        town = OuterRef("pk")
        # In use after the deletions above: by what stays.
        in_use = (
            Exists(
                Partnership.objects.filter(Q(first=town) | Q(second=town)).exclude(import_run=self)
            )
            | Exists(Membership.objects.filter(municipality=town).exclude(pk__in=members))
            | Exists(Event.objects.filter(municipality=town).exclude(pk__in=events))
            | Exists(AlternativeName.objects.filter(municipality=town))
            | Exists(Association.objects.filter(municipality=town))
            | Exists(Municipality.objects.filter(Q(parent=town) | Q(successor=town)))
        )
        created = Municipality.objects.filter(import_run=self)
        deleted = {
            Partnership: partnerships,
            Municipality: created.exclude(in_use),
            Membership: members,
            Event: events,
            KindChange: KindChange.objects.filter(Q(import_run=self) | gone_pair),
            StatusChange: StatusChange.objects.filter(Q(import_run=self) | gone_pair),
        }
        return deleted, created.filter(in_use)

    @classmethod
    def take_import_lock(cls, waiting=None):
        """Wait for any import, or revert of one, to end, and hold it off until the current
        transaction ends (call it first in the transaction: what is read after it includes
        what the other one committed). ``waiting()`` is called if it has to wait.

        PostgreSQL: the advisory lock :data:`IMPORT_LOCK`. SQLite: its one write lock, taken
        at once by a write that changes nothing (waiting for it up to the connection's
        timeout), so that no other writer can slip in between the reads that follow and this
        transaction's writes.
        """
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [IMPORT_LOCK])
                if not cursor.fetchone()[0]:
                    if waiting:
                        waiting()
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK])
            elif connection.vendor == "sqlite":
                table = connection.ops.quote_name(cls._meta.db_table)
                cursor.execute(f"UPDATE {table} SET id = id WHERE 0")  # noqa: S608 (model name)  # nosec B608


class ImportUpload(models.Model):
    """A file uploaded in the admin to be imported: its bytes, the dry run's report, and the
    import's progress once confirmed (kept in the database, so every process of the site and
    the task worker see the same)."""

    class Kind(models.TextChoices):
        PARTNERSHIPS = "partnerships", _("partnerships")
        MUNICIPALITIES = "municipalities", _("municipalities")
        EVENTS = "events", _("events")
        NETWORKS = "networks", _("network members")
        CHANGES = "changes", _("changes of kind or status")

    class State(models.TextChoices):
        CHECKED = "checked", _("checked, waiting for confirmation")
        REFUSED = "refused", _("cannot be imported")
        PENDING = "pending", _("waiting to run")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    created = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    kind = models.CharField(_("kind of file"), max_length=20, choices=Kind)
    file_name = models.CharField(_("file"), max_length=500)
    data = models.BinaryField(_("content"))
    geocode = models.BooleanField(_("geocode new towns"), default=False)
    state = models.CharField(_("state"), max_length=10, choices=State, default=State.CHECKED)
    # The dry run's report: {"summary": [[label, count]], "errors": [[line, column, message]],
    # "error_count": n, "rows_good": n, "file_error": message or ""}.
    report = models.JSONField(_("report of the dry run"), default=dict)
    rows_done = models.PositiveIntegerField(_("lines checked"), default=0)
    rows_total = models.PositiveIntegerField(_("lines"), default=0)
    error = models.TextField(_("error"), blank=True)
    run = models.ForeignKey(
        ImportRun,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="uploads",
        verbose_name=_("import run"),
    )

    class Meta:
        ordering = ["-created"]
        verbose_name = _("uploaded import file")
        verbose_name_plural = _("uploaded import files")

    def __str__(self):
        return f"{self.file_name} ({self.get_kind_display()})"

    def can_confirm(self):
        """Whether the dry run found rows to import: the file could be read and some rows
        are good."""
        report = self.report
        return (
            self.state == self.State.CHECKED
            and not report.get("file_error")
            and report.get("rows_good", 0) > 0
        )
