"""``manage.py load_record``: the historical record of fixtures/, whole and in order."""

from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS

# The record's files, each after those its natural keys name: sources first (everything cites
# them), then countries, regions and towns, then the partnerships between them, then the
# events of towns and partnerships.
RECORD = ("sources", "places", "partnerships", "events")


class Command(BaseCommand):
    help = (
        "Load the historical record (fixtures/: "
        + ", ".join(f"{name}.json" for name in RECORD)
        + ") in the order its references need, in one transaction. Loading it again changes "
        "nothing: each record is found by its natural key and written as the file has it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help='the database to load into (default: "default")',
        )

    def handle(self, *args, database=DEFAULT_DB_ALIAS, verbosity=1, **options):
        # loaddata reads every file given in one call in one transaction: all of it or nothing.
        call_command("loaddata", *RECORD, database=database, verbosity=0)
        if verbosity:
            models = ("Source", "Country", "Municipality", "Partnership", "Event")
            counts = ", ".join(
                f"{apps.get_model('registry', name)._default_manager.using(database).count():,} "
                f"{apps.get_model('registry', name)._meta.verbose_name_plural}"
                for name in models
            )
            self.stdout.write(f"Loaded the historical record; the registry now holds {counts}.")
