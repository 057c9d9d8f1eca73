"""Imports from the admin: a file uploaded, checked by a dry run, then run when confirmed.

The file is kept in the database (:class:`ImportUpload`), so any process of the site, or the
task worker, can run it; the dry run and the import itself are those of the import commands
(``registry.importing``), with the user who confirmed it as the run's user. A file of up to
``IMPORT_IN_REQUEST_ROWS`` lines runs in the request; a larger one as the background task
:func:`run_upload_task`, which records its progress on the upload as it goes.
"""

from django.conf import settings
from django.tasks import task

from registry.geocoding import GeocodingUnavailable
from registry.importing import (
    ImportConflict,
    ImportFileError,
    import_changes,
    import_events,
    import_municipalities,
    import_networks,
    import_partnerships,
)
from registry.models import ImportUpload

IMPORTERS = {
    ImportUpload.Kind.PARTNERSHIPS: import_partnerships,
    ImportUpload.Kind.MUNICIPALITIES: import_municipalities,
    ImportUpload.Kind.EVENTS: import_events,
    ImportUpload.Kind.NETWORKS: import_networks,
    ImportUpload.Kind.CHANGES: import_changes,
}
"""The importer of each kind of file, as the commands ``import_<kind>`` run it."""

GEOCODING_KINDS = {ImportUpload.Kind.PARTNERSHIPS}
"""The kinds of file whose import can geocode the towns it creates (``--geocode``)."""

MAX_ERRORS_KEPT = 1000
"""How many of a dry run's problems its report keeps to show (the count is of all)."""


def _import(upload, **options):
    extra = {"geocode": upload.geocode} if upload.kind in GEOCODING_KINDS else {}
    return IMPORTERS[upload.kind](
        bytes(upload.data), file_name=upload.file_name, **extra, **options
    )


def line_count(data):
    """The number of lines of a file's bytes (as the progress counts them)."""
    return data.count(b"\n") + (not data.endswith(b"\n") and bool(data))


def check(upload):
    """Run the dry run of ``upload`` and keep its report on it: the counts, every problem
    (line, column, message), or the message about a file that cannot be read."""
    report = {"summary": [], "errors": [], "error_count": 0, "file_error": "", "rows_good": 0}
    try:
        result = _import(upload, dry_run=True)
    except (ImportFileError, GeocodingUnavailable) as error:
        report["file_error"] = str(error)
    else:
        # Pairs, in the report's order (PostgreSQL's jsonb keeps no order of keys).
        report["summary"] = list(result.summary().items())
        report["error_count"] = len(result.errors)
        report["errors"] = [
            [error.line, error.field, error.message] for error in result.errors[:MAX_ERRORS_KEPT]
        ]
        report["rows_good"] = result.rows_read - result.rows_rejected
    upload.report = report
    State = ImportUpload.State
    upload.state = State.CHECKED if upload.can_confirm() else State.REFUSED
    upload.rows_total = line_count(upload.data)
    upload.save(update_fields=["report", "state", "rows_total"])
    return upload


def start(upload, user):
    """Confirm ``upload`` (checked): run it now if it is small, else enqueue its task.

    Returns False if it had been confirmed before (by another click or another person):
    only the first confirmation runs it.
    """
    in_request = upload.rows_total <= settings.IMPORT_IN_REQUEST_ROWS
    state = ImportUpload.State.RUNNING if in_request else ImportUpload.State.PENDING
    started = ImportUpload.objects.filter(pk=upload.pk, state=ImportUpload.State.CHECKED).update(
        state=state, confirmed_by=user
    )
    if not started:
        return False
    if in_request:
        run(upload.pk)
    else:
        run_upload_task.enqueue(upload.pk)
    return True


def run(pk):
    """Import the confirmed upload ``pk``, recording its progress and its outcome on it."""
    upload = ImportUpload.objects.select_related("confirmed_by").get(pk=pk)
    uploads = ImportUpload.objects.filter(pk=pk)
    uploads.update(state=ImportUpload.State.RUNNING, rows_done=0, error="")

    def progress(done, total):
        uploads.update(rows_done=done, rows_total=total)

    def waiting():
        uploads.update(error="another import is running; this one waits for it to end.")

    try:
        report = _import(
            upload,
            skip_invalid=True,  # confirmed as the dry run showed: the good rows
            user=upload.confirmed_by,
            progress=progress,
            waiting=waiting,
        )
    except ImportConflict as error:
        # Nothing written, and it can simply be run again: confirmable as before.
        uploads.update(state=ImportUpload.State.CHECKED, error=str(error))
        return
    except (ImportFileError, GeocodingUnavailable) as error:
        uploads.update(state=ImportUpload.State.FAILED, error=str(error))
        return
    except Exception as error:
        uploads.update(state=ImportUpload.State.FAILED, error=f"{type(error).__name__}: {error}")
        raise
    uploads.update(state=ImportUpload.State.DONE, error="", run=report.run)


@task
def run_upload_task(pk):
    """The background task of a large import confirmed in the admin."""
    run(pk)
