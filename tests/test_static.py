"""Static files in production: collectstatic's hashed, compressed copies, served by WhiteNoise."""

import gzip
import re

import pytest
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

SOURCE = "static/css/site.css"


@pytest.fixture
def collected(settings, tmp_path):
    """collectstatic with the production storage into an empty STATIC_ROOT."""
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    return tmp_path


def body(response):
    return b"".join(response.streaming_content)


def test_pages_link_the_content_hashed_stylesheet(collected):
    page = Client().get("/").content.decode()
    links = re.findall(r'href="(/static/css/[^"]+\.css)"', page)
    assert len(links) == 1
    assert re.fullmatch(r"/static/css/site\.[0-9a-f]{12}\.css", links[0])
    assert links[0] == "/" + staticfiles_storage.url("css/site.css").lstrip("/")


def test_whitenoise_serves_the_hashed_file_cached_for_ever(collected):
    url = Client().get("/").content.decode().split('href="/static/css/')[1].split('"')[0]
    response = Client().get(f"/static/css/{url}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert "max-age=315360000" in response["Cache-Control"]
    assert "immutable" in response["Cache-Control"]
    with open(SOURCE, "rb") as original:
        assert body(response) == original.read()


def test_whitenoise_serves_a_compressed_copy_to_who_accepts_it(collected):
    url = "/" + staticfiles_storage.url("css/site.css").lstrip("/")
    response = Client().get(url, headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    with open(SOURCE, "rb") as original:
        assert gzip.decompress(body(response)) == original.read()


def test_an_unknown_static_file_is_a_404(collected):
    assert Client().get("/static/css/nothing-here.css").status_code == 404


@pytest.mark.parametrize(
    "name", ["css/site.css", "admin/js/autocomplete.js", "admin/img/search.svg"]
)
def test_whitenoise_serves_every_file_with_the_sites_policy_and_framing_rule(collected, name):
    """WhiteNoise answers before the CSP and X-Frame-Options middleware run; the files get the
    headers every page gets (SecurityMiddleware, before WhiteNoise, adds the others)."""
    page = Client().get("/", secure=True)
    url = "/" + staticfiles_storage.url(name).lstrip("/")
    headers = {}
    for encoding in ("", "gzip"):  # the file and its compressed copy
        response = Client().get(url, headers={"accept-encoding": encoding}, secure=True)
        assert response.status_code == 200
        response.close()  # the file WhiteNoise opened
        headers[encoding] = {
            header: response.get(header)
            for header in (
                "Content-Security-Policy",
                "X-Frame-Options",
                "X-Content-Type-Options",
                "Referrer-Policy",
                "Strict-Transport-Security",
            )
        }
    expected = {
        "Content-Security-Policy": page["Content-Security-Policy"],
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Strict-Transport-Security": page["Strict-Transport-Security"],
    }
    assert headers == {"": expected, "gzip": expected}
    assert page["Content-Security-Policy"] == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
    )
