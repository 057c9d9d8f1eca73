"""Two staff at once, on PostgreSQL with two real connections."""

import threading
import time

import pytest
from conftest import municipality
from django.db import connection, transaction
from test_admin import ADD, add_form, form_errors

from registry.models import Partnership

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs two concurrent connections; SQLite admits one writer at a time",
    ),
]


def test_two_staff_creating_the_same_pair_at_once_make_one_row_and_one_form_error(
    editor_client,
):
    koeln, liverpool = municipality("Köln"), municipality("Liverpool", "GB")
    data = add_form(editor_client, first=liverpool.pk, second=koeln.pk, start="1952")
    saved, release = threading.Event(), threading.Event()

    def first_editor():
        try:
            with transaction.atomic():
                first = Partnership(first=koeln, second=liverpool, start="1952")
                first.full_clean()  # takes the pair's lock, held until commit
                first.save()
                saved.set()
                release.wait(10)
        finally:
            connection.close()

    other = threading.Thread(target=first_editor)
    other.start()
    assert saved.wait(10)
    threading.Timer(1.0, release.set).start()
    started = time.monotonic()
    response = editor_client.post(ADD, data)
    waited = time.monotonic() - started
    other.join(10)
    assert waited >= 0.9  # the second save waited for the first to commit
    assert form_errors(response) == {
        "second": [
            "These two municipalities already have a partnership of this kind: Köln – Liverpool."
        ]
    }
    assert [str(p) for p in Partnership.objects.all()] == ["Köln – Liverpool"]
