"""The pages of a missing page (404) and a server error (500), as production shows them: with
``DEBUG`` off (the suite's settings), in the site's layout and the visitor's language, and
under the site's Content Security Policy (no inline script or style)."""

import re

import pytest
from django.conf import settings
from django.db import DatabaseError
from django.test import RequestFactory
from django.urls import path
from django.utils import translation
from django.views.defaults import server_error
from pages import heading, text

from twinning.urls import urlpatterns as site_urlpatterns

pytestmark = pytest.mark.django_db


def fail(request):
    raise DatabaseError("could not connect to server")


# The URLconf of the 500 tests (``@pytest.mark.urls(__name__)``): the site and a failing view.
urlpatterns = [path("failing/", fail), *site_urlpatterns]

NOT_FOUND = {
    "en": (
        "Page not found",
        "Page not found · Twinning registry",
        "There is no page at {path}: the address may be mistyped, or what it named is no "
        "longer in the registry.",
    ),
    "de": (
        "Seite nicht gefunden",
        "Seite nicht gefunden · Register der Städtepartnerschaften",
        "Unter {path} gibt es keine Seite: Die Adresse ist vielleicht falsch geschrieben, oder "
        "was sie nannte, ist nicht mehr im Register.",
    ),
}

SERVER_ERROR = {
    "en": (
        "Server error",
        "Server error · Twinning registry",
        "The registry could not answer this request: an error occurred on the server.",
        "A public registry of town twinnings. Every fact carries its sources.",
    ),
    "de": (
        "Serverfehler",
        "Serverfehler · Register der Städtepartnerschaften",
        "Das Register konnte diese Anfrage nicht beantworten: Auf dem Server ist ein Fehler "
        "aufgetreten.",
        "Ein öffentliches Register der Städtepartnerschaften. Jede Angabe nennt ihre Quellen.",
    ),
}


@pytest.fixture(autouse=True)
def production():
    assert settings.DEBUG is False
    yield
    translation.activate(settings.LANGUAGE_CODE)


def title(html):
    return " ".join(re.search(r"<title>(.*?)</title>", html, re.S).group(1).split())


def assert_no_inline_script_or_style(response, html):
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert re.search(r"<script|<style|\sstyle=|\son[a-z]+=", html) is None


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("address", ["/municipalities/nowhere/", "/no-such-page/"])
def test_a_missing_page_is_a_404_in_the_sites_layout_and_language(client, language, address):
    response = client.get(address, headers={"Accept-Language": language})
    html = response.content.decode()
    h1, page_title, explanation = NOT_FOUND[language]
    assert response.status_code == 404
    assert heading(response) == h1
    assert title(html) == page_title
    assert text(response, "explanation") == explanation.format(path=address)
    # base.html's layout: its language, stylesheet, navigation, main and footer.
    assert f'<html lang="{language}">' in html
    assert '<link rel="stylesheet" href="/static/css/site.css">' in html
    navigation = "Hauptnavigation" if language == "de" else "Main"
    assert f'<nav aria-label="{navigation}">' in html
    assert '<main id="content">' in html and '<footer class="site-footer">' in html
    assert 'action="/municipalities/"' in html and '<label for="not-found-q">' in html
    assert_no_inline_script_or_style(response, html)


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("language", ["en", "de"])
def test_a_server_error_is_a_500_in_the_sites_layout_and_language(client, language):
    client.raise_request_exception = False
    response = client.get("/failing/", headers={"Accept-Language": language})
    html = response.content.decode()
    h1, page_title, explanation, footer = SERVER_ERROR[language]
    assert response.status_code == 500
    assert heading(response) == h1
    assert title(html) == page_title
    assert text(response, "explanation") == explanation
    assert f'<html lang="{language}">' in html
    assert '<link rel="stylesheet" href="/static/css/site.css">' in html
    assert '<header class="site-header">' in html and '<main id="content">' in html
    assert f'<footer class="site-footer">\n    <p>{footer}</p>' in html
    assert_no_inline_script_or_style(response, html)


def test_the_500_page_renders_without_the_database_or_the_request(django_db_blocker):
    """Django renders 500.html with an empty context: it may be the database that failed."""
    request = RequestFactory().get("/")
    translation.activate("de")
    with django_db_blocker.block():
        response = server_error(request)
    html = response.content.decode()
    assert response.status_code == 500
    assert heading(response) == "Serverfehler"
    assert '<html lang="de">' in html and '<a class="brand" href="/">' in html
