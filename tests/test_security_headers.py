"""Security headers with the production settings the suite runs under (``DEBUG`` off, the
HTTPS-only settings on): on public pages, a download, the admin login and admin forms, each
asked for over HTTPS as a browser in production would.

The Content Security Policy is parsed into its directives and compared whole, so a new
source (``'unsafe-inline'``, a CDN) fails here. The admin of Django 6.1 works under it: it
has no inline script or style, its scripts carry their data in ``data-`` attributes.
"""

import re
from html import unescape
from html.parser import HTMLParser

import pytest
from conftest import municipality, partnership
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"
YEAR = 365 * 24 * 60 * 60

POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}

PUBLIC = [
    "/",
    "/rankings/",
    "/municipalities/?country=XX",  # the page with a message, status 400
    "/rankings/?format=csv",
    "/rankings/?format=json",
    "/rankings/?format=xlsx",
    "/municipalities/koln/?format=json",
]


def policy(response):
    """The Content-Security-Policy header as {directive: [sources]}, each directive once."""
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        assert name.lower() not in directives, f"{name} given twice"
        directives[name.lower()] = sources
    return directives


def hsts(response):
    """Strict-Transport-Security as (max-age, the other directives, in lower case)."""
    max_age, others = None, []
    for part in response["Strict-Transport-Security"].split(";"):
        part = part.strip()
        if part.lower().startswith("max-age="):
            max_age = int(part.split("=", 1)[1])
        else:
            others.append(part.lower())
    return max_age, others


def assert_secure(response):
    """Every security header a browser gets in production, and every cookie set Secure."""
    max_age, others = hsts(response)
    assert max_age >= YEAR
    assert others == ["includesubdomains"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    directives = policy(response)
    assert directives == POLICY
    for directive in ("default-src", "script-src", "style-src"):
        assert "'unsafe-inline'" not in directives[directive]
        assert "'unsafe-eval'" not in directives[directive]
    for name, cookie in response.cookies.items():
        assert cookie["secure"] is True, name
        assert cookie["samesite"] == "Lax", name
    if settings.SESSION_COOKIE_NAME in response.cookies:
        assert response.cookies[settings.SESSION_COOKIE_NAME]["httponly"] is True


class _Inline(HTMLParser):
    """What a page has that a policy without 'unsafe-inline' would block: script elements
    with content or with a ``src`` not on this site, style elements, ``style=`` and ``on...=``
    attributes, ``javascript:`` links."""

    def __init__(self):
        super().__init__()
        self.blocked = []
        self.scripts = []
        self._script = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if name == "style" or name.startswith("on"):
                self.blocked.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action") and (value or "").lower().startswith(
                "javascript:"
            ):
                self.blocked.append(f"<{tag} {name}={value}>")
        if tag == "style":
            self.blocked.append("<style>")
        elif tag == "script":
            self._script = []
            src = attrs.get("src") or ""
            self.scripts.append(src)
            if not re.fullmatch(r"/[\w./-]+", src):  # from this site, never inline
                self.blocked.append(f"<script src={src!r}>")

    def handle_data(self, data):
        if self._script is not None:
            self._script.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            if "".join(self._script).strip():
                self.blocked.append("<script> with content")
            self._script = None


def inline(response):
    parser = _Inline()
    parser.feed(response.content.decode())
    parser.close()
    return parser


def login(client, username):
    """Log in through the admin's login form, as a person does."""
    form = client.get("/admin/login/", secure=True)
    return client.post(
        "/admin/login/?next=/admin/",
        {
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": form.cookies[settings.CSRF_COOKIE_NAME].value,
        },
        secure=True,
    )


@pytest.mark.parametrize("url", PUBLIC)
def test_public_pages_and_downloads_send_every_security_header(client, url):
    municipality("Köln", slug="koln")
    response = client.get(url, secure=True)
    assert response.status_code == (400 if "XX" in url else 200)
    assert_secure(response)
    if response.streaming:
        b"".join(response.streaming_content)  # read whole, as a browser does, which closes it


def test_a_public_page_sets_no_cookie(client):
    """Nothing is stored in a visitor's browser until they choose a language (the switch needs
    no CSRF token: twinning.views)."""
    response = client.get("/", secure=True)
    assert response.cookies == {}
    assert_secure(response)


def test_the_language_cookie_is_secure(client):
    response = client.post("/i18n/setlang/", {"language": "de", "next": "/"}, secure=True)
    assert (response.status_code, response["Location"]) == (302, "/")
    assert sorted(response.cookies) == [settings.LANGUAGE_COOKIE_NAME]
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    assert_secure(response)


def test_plain_http_gets_no_hsts_but_every_other_header(client):
    """HSTS is only meaningful over HTTPS (browsers ignore it on plain HTTP); the proxy
    redirects plain HTTP there."""
    response = client.get("/")
    assert "Strict-Transport-Security" not in response
    assert response["X-Frame-Options"] == "DENY"
    assert policy(response) == POLICY


def test_admin_login_page_and_login_send_every_security_header(client, editor):
    page = client.get("/admin/login/", secure=True)
    assert page.status_code == 200
    assert sorted(page.cookies) == [settings.CSRF_COOKIE_NAME]
    assert_secure(page)
    assert inline(page).blocked == []

    response = login(client, "editor")
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    # A new session and a new CSRF token on login, both Secure; the session HttpOnly.
    assert sorted(response.cookies) == [settings.CSRF_COOKIE_NAME, settings.SESSION_COOKIE_NAME]
    assert response.cookies[settings.SESSION_COOKIE_NAME]["httponly"] is True
    assert_secure(response)


@pytest.mark.parametrize("user", ["editor", "superuser"])
def test_admin_forms_send_every_security_header_and_need_no_inline_code(client, user, request):
    request.getfixturevalue(user)
    assert login(client, "boss" if user == "superuser" else "editor").status_code == 302
    twinning = partnership(municipality("Köln"), municipality("Liverpool", "GB"))
    version = twinning.history.get().history_id
    urls = [
        "/admin/",
        "/admin/registry/partnership/",
        f"/admin/registry/partnership/{twinning.pk}/change/",
        "/admin/registry/partnership/add/",
        f"/admin/registry/municipality/{twinning.first_id}/change/",
        f"/admin/registry/partnership/{twinning.pk}/history/",
        f"/admin/registry/partnership/{twinning.pk}/history/{version}/",
        "/admin/autocomplete/?term=K&app_label=registry&model_name=partnership&field_name=first",
    ]
    for url in urls:
        response = client.get(url, secure=True)
        assert response.status_code == 200, url
        assert_secure(response)
        if response["Content-Type"].startswith("text/html"):
            parsed = inline(response)
            assert parsed.blocked == [], url
    # The change form runs the admin's scripts (autocomplete, inlines), all from our origin.
    form = client.get(f"/admin/registry/partnership/{twinning.pk}/change/", secure=True)
    scripts = inline(form).scripts
    names = [re.sub(r"\.[0-9a-f]{12}\.js$", ".js", src) for src in scripts]  # hashed or not
    assert "/static/admin/js/change_form.js" in names
    assert "/static/admin/js/autocomplete.js" in names
    assert [src for src in scripts if not src.startswith(settings.STATIC_URL)] == ["/admin/jsi18n/"]


def main_text(response):
    """The text of the page's main part, block by block, as a person reads it."""
    main = response.content.decode().partition('<main id="content">')[2].partition("</main>")[0]
    blocks = re.findall(r"<(h1|p)[^>]*>(.*?)</\1>", main, re.DOTALL)
    return [" ".join(unescape(re.sub(r"<[^>]+>", "", text)).split()) for _tag, text in blocks]


REFUSED_FORM = [
    "Form refused",
    "This form was not accepted, and nothing was changed: this site could not tell that it "
    "was sent from one of its own pages.",
    "CSRF verification failed. Request aborted.",  # Django's words, for who looks it up
    "That is what happens to a form another website sends in your name. If you sent it from "
    "this site, go back, reload the page and send the form again; staff logging in must allow "
    "this site's cookies.",
]


@pytest.mark.parametrize(
    ("url", "data", "headers"),
    [
        # The language switch, sent from another site's page.
        ("/i18n/setlang/", {"language": "de", "next": "/"}, {"Sec-Fetch-Site": "cross-site"}),
        # Any form without its CSRF token: the admin's login, from its own page.
        (
            "/admin/login/",
            {"username": "editor", "password": PASSWORD},
            {"Referer": "https://testserver/admin/login/"},
        ),
    ],
)
def test_a_refused_form_gets_the_sites_page_without_inline_code(editor, url, data, headers):
    client = Client(enforce_csrf_checks=True)
    response = client.post(url, data, headers=headers, secure=True)
    assert response.status_code == 403
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert main_text(response) == REFUSED_FORM
    assert "<title>Form refused · Twinning registry</title>" in response.content.decode()
    parsed = inline(response)
    assert (parsed.blocked, parsed.scripts) == ([], [])
    assert "<style" not in response.content.decode()
    assert_secure(response)
    assert response.cookies == {}


def test_a_refused_form_is_explained_in_german_to_who_asks_for_it():
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/i18n/setlang/",
        {"language": "en", "next": "/"},
        headers={"Sec-Fetch-Site": "cross-site", "Accept-Language": "de"},
        secure=True,
    )
    assert (response.status_code, main_text(response)[0]) == (403, "Formular abgelehnt")
