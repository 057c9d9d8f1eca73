"""Repeated failed admin logins lock the account and the address out (django-axes)."""

import datetime
from unittest import mock

import pytest
from axes.models import AccessAttempt
from conftest import staff_user
from django.contrib.auth.backends import ModelBackend
from django.utils import timezone

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "a-long-test-password"


def login(client, username, password, address="203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, username, times, address="203.0.113.7"):
    """Fail ``times`` logins; return the status codes (the form again: 200; locked: 429)."""
    return [login(client, username, "wrong", address).status_code for _ in range(times)]


def test_five_failures_lock_the_account_even_with_the_right_password(client):
    staff_user("editor")
    assert fail(client, "editor", 4) == [200] * 4
    assert login(client, "editor", PASSWORD).status_code == 302  # four are forgiven
    client.logout()
    assert fail(client, "editor", 5) == [200, 200, 200, 200, 429]  # the fifth locks
    locked = login(client, "editor", PASSWORD)
    assert locked.status_code == 429
    assert "locked" in locked.content.decode().lower()
    # Another address does not help: the account itself is locked.
    assert login(client, "editor", PASSWORD, address="198.51.100.1").status_code == 429


def test_failures_across_accounts_lock_the_address(client):
    staff_user("editor")
    statuses = [fail(client, name, 1)[0] for name in ["admin", "root", "staff", "boss", "ed"]]
    assert statuses == [200, 200, 200, 200, 429]
    assert login(client, "editor", PASSWORD).status_code == 429
    assert login(client, "editor", PASSWORD, address="198.51.100.1").status_code == 302


def test_a_locked_out_attempt_is_refused_without_hashing_a_password(client):
    staff_user("editor")
    fail(client, "editor", 5)
    with mock.patch.object(ModelBackend, "authenticate", autospec=True) as backend:
        assert login(client, "editor", PASSWORD).status_code == 429
    assert backend.call_count == 0


def test_the_lock_ends_after_the_cool_off(client, settings):
    staff_user("editor")
    fail(client, "editor", 5)
    assert login(client, "editor", PASSWORD).status_code == 429
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - datetime.timedelta(seconds=1)
    )
    assert login(client, "editor", PASSWORD).status_code == 302
