"""Reporting a correction in a real browser: from a town's page to the form, sent, thanked;
the honeypot out of sight, and no console or CSP error on the way."""

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from registry.models import CorrectionReport

# The live server reads what the test wrote: a transactional database, restored afterwards
# with the countries the migrations put there.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def stored(record):
    """What was stored, checked once the browser is closed (the ORM cannot run while it is
    open): requested before ``open_browser``, so torn down after it."""
    cache.clear()  # the rate limit counts in the cache, which outlives a test's data
    expected = []
    yield expected
    assert list(CorrectionReport.objects.values_list("municipality__slug", "text", "language")) == (
        expected
    )


@pytest.mark.parametrize(
    ("language", "link", "what", "send", "thanks"),
    [
        (
            "en",
            "Report a correction",
            "What is wrong?",
            "Send the report",
            "Thank you for your report",
        ),
        (
            "de",
            "Korrektur melden",
            "Was ist falsch?",
            "Meldung senden",
            "Vielen Dank für Ihre Meldung",
        ),
    ],
)
def test_a_person_reports_a_correction_from_a_towns_page(
    stored, open_browser, screenshot, language, link, what, send, thanks
):
    page = open_browser(extra_http_headers={"Accept-Language": language})
    page.goto("/municipalities/ludwigsburg/")
    page.get_by_role("link", name=link, exact=True).click()
    assert page.url.endswith("/municipalities/ludwigsburg/correction/")
    # The honeypot is there for bots only: out of sight.
    expect(page.locator("input[name=website]")).not_to_be_in_viewport()
    page.get_by_label(what, exact=True).fill("Montbéliard has been a partner since 1950.")
    page.wait_for_timeout(3000)  # a person takes a moment; a form back at once is a bot's
    page.get_by_role("button", name=send).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(thanks)
    assert page.url.endswith("/municipalities/ludwigsburg/correction/thanks/")
    screenshot(page, f"correction-reported-{language}")
    stored.append(("ludwigsburg", "Montbéliard has been a partner since 1950.", language))
