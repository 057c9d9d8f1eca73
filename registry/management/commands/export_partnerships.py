import csv

from django.core.management.base import BaseCommand

from registry.importing import export_rows
from registry.models import Partnership


class Command(BaseCommand):
    help = (
        "Write every bilateral partnership as CSV in the format import_partnerships reads, "
        "so that an export imports into an empty registry. Networks and joint partners are "
        "not part of that format."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="file to write (default: standard output)")

    def handle(self, *args, output=None, **options):
        partnerships = (
            Partnership.objects.bilateral()
            .select_related("first__country", "first__region", "second__country", "second__region")
            .prefetch_related("sources")
            .order_by("pk")
        )
        if output:
            with open(output, "w", newline="", encoding="utf-8") as stream:
                count = self._write(stream, partnerships)
            self.stderr.write(f"Wrote {count} partnerships to {output}.")
        else:
            self._write(self.stdout, partnerships)

    @staticmethod
    def _write(stream, partnerships):
        writer = csv.writer(stream, lineterminator="\n")
        rows = export_rows(partnerships.iterator(chunk_size=2000))
        writer.writerow(next(rows))
        count = 0
        for row in rows:
            writer.writerow(row)
            count += 1
        return count
