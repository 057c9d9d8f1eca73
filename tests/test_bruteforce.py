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


def test_failures_across_accounts_lock_the_address_for_those_accounts(client):
    staff_user("editor")
    statuses = [fail(client, name, 1)[0] for name in ["admin", "root", "staff", "boss", "ed"]]
    assert statuses == [200, 200, 200, 200, 429]
    assert login(client, "admin", PASSWORD).status_code == 429
    assert login(client, "admin", PASSWORD, address="198.51.100.1").status_code == 200
    # A username that has not failed is not locked by the address's failures; its first
    # failure there locks it there.
    assert login(client, "editor", PASSWORD).status_code == 302
    client.logout()
    assert fail(client, "other", 1) == [429]


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


PROXY = "10.0.0.2"  # the HTTPS proxy: every request reaches the app server from it


def login_via_proxy(client, username, password, forwarded):
    return client.post(
        LOGIN,
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


@pytest.fixture
def behind_proxy(settings):
    settings.BEHIND_PROXY = True
    settings.TRUSTED_PROXY_COUNT = 1


def test_behind_the_proxy_one_clients_failures_lock_neither_another_client_nor_another_user(
    client, behind_proxy
):
    staff_user("editor")
    staff_user("reviewer")
    attacker, colleague = "198.51.100.23", "203.0.113.50"
    statuses = [
        login_via_proxy(client, name, "wrong", attacker).status_code
        for name in ["admin", "root", "staff", "boss", "editor"]
    ]
    assert statuses == [200, 200, 200, 200, 429]
    assert AccessAttempt.objects.filter(ip_address=attacker).count() == 5
    assert not AccessAttempt.objects.filter(ip_address=PROXY).exists()
    # The editor, locked at the attacker's address only, logs in from her own.
    assert login_via_proxy(client, "editor", PASSWORD, colleague).status_code == 302
    client.logout()
    # The reviewer never failed: not locked even at the attacker's address.
    assert login_via_proxy(client, "reviewer", PASSWORD, attacker).status_code == 302
    client.logout()
    # A username that failed there is locked there, the right password notwithstanding.
    assert login_via_proxy(client, "admin", PASSWORD, attacker).status_code == 429


def test_behind_the_proxy_an_address_the_client_sent_itself_is_ignored(client, behind_proxy):
    """The client may send any X-Forwarded-For; only the entry our proxy appended counts."""
    staff_user("editor")
    for spoofed in ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"]:
        login_via_proxy(client, f"guess-{spoofed}", "wrong", f"{spoofed}, 198.51.100.23")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.23"}
    assert login_via_proxy(client, "guess-x", "wrong", "198.51.100.23").status_code == 429


def test_two_users_sharing_one_address_lock_only_the_one_who_failed(client):
    """Without the proxy's header (or without BEHIND_PROXY) every client behind the proxy has
    its address; one user's failures still lock no one else."""
    staff_user("editor")
    staff_user("reviewer")
    assert fail(client, "editor", 5, address=PROXY) == [200, 200, 200, 200, 429]
    assert login(client, "editor", PASSWORD, address=PROXY).status_code == 429
    assert login(client, "reviewer", PASSWORD, address=PROXY).status_code == 302


@pytest.mark.parametrize(
    "forwarded, count, address",
    [
        ("198.51.100.23", 1, "198.51.100.23"),
        ("192.0.2.1, 198.51.100.23", 1, "198.51.100.23"),
        ("192.0.2.1, 198.51.100.23, 10.0.0.9", 2, "198.51.100.23"),
        ("198.51.100.23:4711", 1, "198.51.100.23"),
        ("[2001:db8::1]:443", 1, "2001:db8::1"),
        ("2001:DB8::1", 1, "2001:db8::1"),
        ("198.51.100.23", 2, PROXY),  # did not pass both proxies
        ("", 1, PROXY),
        ("unknown", 1, PROXY),
        ("192.0.2.1, ", 1, PROXY),
    ],
)
def test_the_client_address_is_the_one_the_outermost_trusted_proxy_wrote(
    rf, settings, forwarded, count, address
):
    from twinning.logins import client_ip

    settings.BEHIND_PROXY, settings.TRUSTED_PROXY_COUNT = True, count
    request = rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == address
    settings.BEHIND_PROXY = False
    assert client_ip(request) == PROXY
