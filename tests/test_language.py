"""The language switch: refused to other sites by the browser's own headers, no CSRF token."""

import pytest
from conftest import municipality
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

CSRF_FAILURE = "CSRF verification failed. Request aborted."


def switch(headers, secure=False):
    """A POST to the switch, as a browser with ``headers`` sends it; no token, checks on."""
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/i18n/setlang/",
        {"language": "de", "next": "/rankings/"},
        headers=headers,
        secure=secure,
    )
    return client, response


def language(client):
    page = client.get("/rankings/").content.decode()
    return "de" if "Gemeinden nach Zahl der Partner" in page else "en"


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"},
        {"Sec-Fetch-Site": "none"},  # typed into the address bar, or a bookmark
        {"Origin": "http://testserver"},  # a browser older than Fetch metadata
        {},  # no browser at all: curl, a script
    ],
)
def test_the_switch_works_from_this_sites_own_pages(headers):
    municipality("Köln")
    client, response = switch(headers)
    assert (response.status_code, response["Location"]) == (302, "/rankings/")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    assert language(client) == "de"


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # another host under the same domain
        # Fetch metadata decides where a browser sends it, whatever Origin says.
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://testserver"},
        {"Origin": "https://elsewhere.example"},
        {"Origin": "https://testserver"},  # another scheme is another origin
        {"Origin": "null"},  # a sandboxed frame or a data: page
    ],
)
def test_a_switch_sent_from_another_site_is_refused_and_changes_nothing(headers):
    municipality("Köln")
    client, response = switch(headers)
    assert response.status_code == 403
    assert CSRF_FAILURE in response.content.decode()
    assert response.cookies == {}
    assert language(client) == "en"


def test_the_switch_trusts_the_origins_the_settings_trust(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://twinning.example"]
    _client, trusted = switch({"Origin": "https://twinning.example"})
    _client, other = switch({"Origin": "https://other.example"})
    assert (trusted.status_code, other.status_code) == (302, 403)


def test_behind_https_the_origin_must_be_https(settings):
    _client, same = switch({"Origin": "https://testserver"}, secure=True)
    _client, plain = switch({"Origin": "http://testserver"}, secure=True)
    assert (same.status_code, plain.status_code) == (302, 403)


def test_asking_with_get_changes_nothing_as_in_django():
    client = Client()
    response = client.get("/i18n/setlang/", {"language": "de", "next": "/rankings/"})
    assert (response.status_code, response["Location"]) == (302, "/rankings/")
    assert response.cookies == {}
