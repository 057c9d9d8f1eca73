"""The public site in a real browser: what a person does, and what they see.

Each test leaves a screenshot of its last page in test-results/browser/.
"""

import re

import pytest
from playwright.sync_api import expect

# The live server reads what the test wrote: a transactional database, restored afterwards
# with the countries the migrations put there.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def cells(row):
    """A table row's cells as the person reads them."""
    return [" ".join(text.split()) for text in row.locator("td").all_inner_texts()]


def column(page, table, number=0):
    rows = page.locator(f"#{table} tbody tr")
    return [cells(rows.nth(index))[number] for index in range(rows.count())]


def test_search_for_moempelgard_leads_to_ludwigsburg_montbeliard(open_browser, screenshot):
    page = open_browser()
    page.goto("/municipalities/")
    page.get_by_label("Name:", exact=True).fill("Mömpelgard")
    page.get_by_role("button", name="Show").click()

    expect(page).to_have_url(re.compile(r"/municipalities/\?q=M%C3%B6mpelgard"))
    expect(page.locator("p.count")).to_have_text("1 municipality")
    assert column(page, "results") == ["Montbéliard"]

    page.locator("#results").get_by_role("link", name="Montbéliard", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Montbéliard")
    ludwigsburg = page.locator("#partners tbody tr").filter(
        has=page.get_by_role("link", name="Ludwigsburg", exact=True)
    )
    expect(ludwigsburg).to_have_count(1)
    ludwigsburg.get_by_role("link", name="official twinning").click()

    expect(page).to_have_title("Ludwigsburg – Montbéliard · Twinning registry")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ludwigsburg – Montbéliard")
    members = page.locator("#members tbody tr")
    assert [cells(members.nth(index))[1:3] for index in range(members.count())] == [
        ["Ludwigsburg", "Germany"],
        ["Montbéliard", "France"],
    ]
    screenshot(page, "search-moempelgard-ludwigsburg-montbeliard")


def test_kind_filter_adoption_shows_keighley_poix_du_nord(open_browser, screenshot):
    page = open_browser()
    page.goto("/partnerships/")
    everything = column(page, "results")
    assert "Köln – Liverpool" in everything  # there to leak through the filter

    page.get_by_label("Kind, now or at some time:", exact=True).select_option(
        label="adoption or sponsorship"
    )
    page.get_by_role("button", name="Show").click()

    expect(page).to_have_url(re.compile(r"/partnerships/\?(.*&)?kind=adoption(&|$)"))
    expect(page.get_by_label("Kind, now or at some time:", exact=True)).to_have_value("adoption")
    names = column(page, "results")
    assert names[0] == "Keighley – Poix-du-Nord"
    assert "Köln – Liverpool" not in names
    assert cells(page.locator("#results tbody tr").first) == [
        "Keighley – Poix-du-Nord",
        "United Kingdom – France",
        "official twinning",
        "linked since 1920, official since 1986",
        "active",
    ]
    screenshot(page, "partnerships-kind-adoption")


def test_ranking_shows_koeln_with_24_partners(open_browser, screenshot):
    page = open_browser()
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Ranking").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Municipalities by number of partners"
    )
    koeln = page.locator("#ranking tbody tr").filter(
        has=page.get_by_role("link", name="Köln", exact=True)
    )
    expect(koeln).to_have_count(1)
    assert cells(koeln) == ["1", "Köln", "Germany", "24"]
    assert cells(page.locator("#ranking tbody tr").first) == ["1", "Köln", "Germany", "24"]
    screenshot(page, "ranking-koeln-24")


def test_language_switcher_turns_the_site_german(open_browser, screenshot):
    page = open_browser()
    page.goto("/rankings/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Municipalities by number of partners"
    )

    page.get_by_label("Language", exact=True).select_option(label="Deutsch")
    page.get_by_role("button", name="Switch").click()

    expect(page).to_have_url(re.compile(r"/rankings/$"))
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", level=1)).to_have_text("Gemeinden nach Zahl der Partner")
    assert page.locator("#ranking thead th").all_inner_texts() == [
        "Rang ▲",  # the order it is sorted by, with its arrow
        "Gemeinde",
        "Land",
        "Partner",
    ]
    assert cells(page.locator("#ranking tbody tr").first) == ["1", "Köln", "Deutschland", "24"]
    expect(page.get_by_label("Sprache", exact=True)).to_have_value("de")

    # The choice is kept: the next page is German too, though the browser asks for English.
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role(
        "link", name="Partnerschaften"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Partnerschaften")
    screenshot(page, "language-switched-to-german")


def test_browser_asking_for_german_gets_german(open_browser, screenshot):
    page = open_browser(extra_http_headers={"Accept-Language": "de"})
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", level=1)).to_have_text("Register der Städtepartnerschaften")
    expect(page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link")).to_have_text(
        [
            "Gemeinden",
            "Partnerschaften",
            "Netzwerke",
            "Rangliste",
            "Länder",
            "Auszeichnungen",
            "Statistik",
        ]
    )
    screenshot(page, "accept-language-de")


def test_pages_fit_a_phone_without_sideways_scrolling(open_browser, screenshot):
    page = open_browser(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    widths = {}
    for path in ["/", "/partnerships/", "/rankings/", "/statistics/"]:
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        widths[path] = page.evaluate(
            "[document.documentElement.clientWidth, document.documentElement.scrollWidth]"
        )
        screenshot(page, f"phone{path.rstrip('/').replace('/', '-') or '-home'}")
    # the page is as wide as the screen; wide tables scroll inside their own box
    assert widths == {path: [390, 390] for path in widths}


@pytest.mark.parametrize(
    ("language", "heading", "search"),
    [
        ("en", "Page not found", "Find a municipality by any of its names:"),
        ("de", "Seite nicht gefunden", "Eine Gemeinde unter einem ihrer Namen finden:"),
    ],
)
def test_the_404_page_is_the_sites_own_and_fits_a_phone(
    open_browser, live_server, screenshot, language, heading, search
):
    """A missing page answers 404 in the site's layout, language and stylesheet, on a phone
    too, breaking no rule of the Content Security Policy."""
    page = open_browser(
        expected=("/municipalities/nowhere/", 404),
        extra_http_headers={"Accept-Language": language},
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    response = page.goto("/municipalities/nowhere/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator(".site-header")).to_have_css("display", "flex")
    width = page.evaluate(
        "[document.documentElement.clientWidth, document.documentElement.scrollWidth]"
    )
    assert width == [390, 390]
    screenshot(page, f"phone-404-{language}")
    page.get_by_label(search, exact=True).fill("Mömpelgard")
    page.get_by_label(search, exact=True).press("Enter")
    expect(page).to_have_url(re.compile(r"/municipalities/\?q=M%C3%B6mpelgard$"))
    assert column(page, "results") == ["Montbéliard"]


def other_sites_form(live_server, path, fields):
    """A page of another site with a form that posts ``fields`` to ``path`` here."""
    inputs = "".join(
        f"<input type='hidden' name='{name}' value='{value}'>" for name, value in fields.items()
    )
    return (
        "<!doctype html><html lang='en'><title>Another site</title>"
        f"<form method='post' action='{live_server.url}{path}'>{inputs}"
        "<button type='submit'>Send</button></form></html>"
    )


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        # The language switch (no token by design: refused by where the form comes from).
        ("/i18n/setlang/", {"language": "de", "next": "/"}),
        # A form with a CSRF token here, posted without it: the admin's login.
        ("/admin/login/", {"username": "editor", "password": "a-long-test-password"}),
    ],
    ids=["language switch", "admin login"],
)
def test_a_form_from_another_site_is_refused_on_a_page_the_policy_allows(
    open_browser, live_server, screenshot, path, fields
):
    """The refused form's 403 page breaks no rule of the Content Security Policy (Django's own
    page had an inline style, blocked and reported) and has no other console error."""
    posted_to = f"{live_server.url}{path}"
    page = open_browser(expected=(path, 403))
    page.route(
        "http://elsewhere.example/**",
        lambda route: route.fulfill(
            content_type="text/html", body=other_sites_form(live_server, path, fields)
        ),
    )
    page.goto("http://elsewhere.example/form")
    with page.expect_response(posted_to) as posted:
        page.get_by_role("button", name="Send").click()
    assert posted.value.status == 403
    page.wait_for_load_state("load")
    expect(page.get_by_role("heading", level=1)).to_have_text("Form refused")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # The site's own stylesheet applies: the header is laid out as on every page.
    expect(page.locator(".site-header")).to_have_css("display", "flex")
    screenshot(page, f"refused-form-{path.strip('/').replace('/', '-')}")
    assert [cookie["name"] for cookie in page.context.cookies()] == []
    # No CSP violation nor any other console error: checked by open_browser at the end.
