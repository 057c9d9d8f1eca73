"""``manage.py load_record``: the historical record of fixtures/, whole and in order."""

from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models.signals import post_save
from django.utils.translation import gettext as _

from registry.history import HISTORY_COLUMNS, historied_models, write_versions

# The record's files, each after those its natural keys name: sources first (everything cites
# them), then countries, regions and towns, then the partnerships between them, then the
# events of towns and partnerships.
RECORD = ("sources", "places", "partnerships", "events")


class Command(BaseCommand):
    help = (
        "Load the historical record (fixtures/: "
        + ", ".join(f"{name}.json" for name in RECORD)
        + ") in the order its references need, in one transaction. Loading it again changes "
        "nothing: each record is found by its natural key and written as the file has it. "
        "Each record loaded gets its first version in the history; one the file sets back "
        "to what it says gets a version too."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help='the database to load into (default: "default")',
        )

    def handle(self, *args, database=DEFAULT_DB_ALIAS, verbosity=1, **options):
        loaded = {}  # model -> the keys of its records the files hold

        def note(sender, instance, raw=False, **kwargs):
            if raw:
                loaded.setdefault(sender, []).append(instance.pk)

        # loaddata reads every file given in one call in one transaction: all of it or
        # nothing; the versions are written in the same transaction.
        with transaction.atomic(using=database):
            post_save.connect(note, weak=False, dispatch_uid="load_record")
            try:
                call_command("loaddata", *RECORD, database=database, verbosity=0)
            finally:
                post_save.disconnect(dispatch_uid="load_record")
            versions = record_versions(loaded, database)
        if verbosity:
            models = ("Source", "Country", "Municipality", "Partnership", "Event")
            counts = ", ".join(
                f"{apps.get_model('registry', name)._default_manager.using(database).count():,} "
                f"{apps.get_model('registry', name)._meta.verbose_name_plural}"
                for name in models
            )
            self.stdout.write(
                f"Loaded the historical record; the registry now holds {counts}. "
                f"{versions:,} records got a new version in their history."
            )


def record_versions(loaded, database):
    """Give each loaded record without a history its first version ("+"), and each whose
    latest version differs from what the file set it to a new one ("~"); a few queries per
    model, none per record. Returns how many versions were written."""
    reason = _("Loaded from the record (fixtures)")
    written = 0
    for model, history_model in historied_models(apps.get_app_config("registry")):
        keys = loaded.get(model)
        if not keys:
            continue
        names = [
            field.attname
            for field in history_model._meta.concrete_fields
            if field.name not in HISTORY_COLUMNS
        ]
        pk = model._meta.pk.attname
        now = {
            row[names.index(pk)]: row
            for row in model._base_manager.using(database).filter(pk__in=keys).values_list(*names)
        }
        latest = {}
        for row in (
            history_model._base_manager.using(database)
            .filter(**{f"{pk}__in": keys})
            .order_by(pk, "-history_date", "-history_id")
            .values_list(*names)
        ):
            latest.setdefault(row[names.index(pk)], row)
        first = [key for key in now if key not in latest]
        changed = [key for key, row in now.items() if key in latest and latest[key] != row]
        column = model._meta.pk.column
        for history_type, chosen in (("+", first), ("~", changed)):
            if chosen:
                written += write_versions(
                    model,
                    history_model,
                    reason=reason,
                    history_type=history_type,
                    where=f"record.{column} IN ({', '.join(['%s'] * len(chosen))})",
                    params=chosen,
                    using=database,
                )
    return written
