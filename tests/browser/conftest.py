"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

No browser is ever downloaded: Chromium is the Debian package at /usr/bin/chromium, which
scripts/test.sh installs where it is missing. Without it these tests fail with a clear message;
TWINNING_SKIP_BROWSER=1 skips them on purpose.

Playwright's sync API runs an asyncio event loop in the test's thread while the browser is
open, and Django's ORM refuses to run there (SynchronousOnlyOperation). So every database
step happens outside it: the record is loaded before the browser starts, and the browser is
closed (its fixture torn down) before the transactional test database is flushed. The live
server answers the browser from its own thread, where the ORM works as usual.
"""

import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "browser"
TIMEOUT_MS = 30_000  # two shared cores: generous, but a hang still ends


def pytest_collection_modifyitems(config, items):
    if os.environ.get("TWINNING_SKIP_BROWSER") != "1":
        return
    skip = pytest.mark.skip(reason="browser tests skipped on purpose: TWINNING_SKIP_BROWSER=1")
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(item.path).resolve().parents:
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember whether the test's body failed, so the page fixture can photograph it."""
    report = yield
    if report.when == "call":
        item.browser_call_failed = report.failed
    return report


@pytest.fixture(scope="session")
def static_root_for_live_server(empty_static_root):
    """WhiteNoise reads STATIC_ROOT once, when the live server's thread builds its handler; the
    session-scoped server starts before tests/conftest.py's autouse fixture sets it per test."""
    with override_settings(STATIC_ROOT=empty_static_root):
        yield


@pytest.fixture(scope="session")
def live_server(static_root_for_live_server, live_server):
    return live_server


@pytest.fixture
def record(transactional_db):
    """The historical record of fixtures/, as in production."""
    call_command("load_record", verbosity=0)


@pytest.fixture
def open_browser(record, live_server, request):
    """Open a page on the live server: ``open_browser(**context_options)``.

    Context options are Playwright's ``new_context`` arguments (``extra_http_headers``, ...).
    The page's base URL is the live server; English is asked for unless a test says otherwise.
    A failing test leaves a screenshot of where it stood in test-results/browser/; a passing one
    must have caused no failed request, console error (a CSP violation) or script error.
    """
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
            "(bash scripts/test.sh installs it, or: apt-get install chromium). "
            "TWINNING_SKIP_BROWSER=1 skips them on purpose."
        )
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pages = []
    problems = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=TIMEOUT_MS
        )

        def open_page(expected=None, **context_options):
            """A page in a context of its own; ``expected``: a (path, status) answer such as
            a 404 that the test asks for, and so no problem (nor the console's note of it)."""
            expected_url, expected_status = (None, None)
            if expected is not None:
                expected_url, expected_status = f"{live_server.url}{expected[0]}", expected[1]

            def note_failed_response(response):
                if response.status >= 400 and (response.url, response.status) != (
                    expected_url,
                    expected_status,
                ):
                    problems.append(f"{response.status} {response.url}")

            def note_console_error(message):
                # The console notes an expected answer ("Failed to load resource ... 404").
                noted = message.location["url"] == expected_url and (
                    f"status of {expected_status}" in message.text
                )
                if message.type == "error" and not noted:
                    problems.append(f"console: {message.text} ({message.location['url']})")

            context_options.setdefault("extra_http_headers", {"Accept-Language": "en"})
            context = browser.new_context(base_url=live_server.url, **context_options)
            context.set_default_timeout(TIMEOUT_MS)
            # Chromium reports a CSP violation in the console; the event says which rule.
            context.add_init_script(
                "document.addEventListener('securitypolicyviolation', (event) => console.error("
                "`CSP violation: ${event.violatedDirective} ${event.blockedURI}`))"
            )
            page = context.new_page()
            page.on("response", note_failed_response)
            page.on("console", note_console_error)
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            pages.append(page)
            return page

        try:
            yield open_page
            if getattr(request.node, "browser_call_failed", False):
                for number, page in enumerate(pages, 1):
                    page.screenshot(
                        path=SCREENSHOTS / f"FAILED-{request.node.name}-{number}.png",
                        full_page=True,
                    )
            else:
                # Nothing the person did not see went wrong either: no failed request (a
                # missing stylesheet or icon), no blocked inline script or style (the CSP).
                assert problems == []
        finally:
            browser.close()


@pytest.fixture
def screenshot():
    """``screenshot(page, name)`` keeps what the person saw: test-results/browser/<name>.png."""

    def take(page, name):
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    return take
