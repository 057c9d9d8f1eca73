"""The lists in a real browser: a region × partner country query, sorting by a column header,
and the page on paper.

Each test leaves a screenshot of its last page in test-results/browser/.
"""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

NRW_GB_BY_START = ["Düsseldorf – Reading", "Bonn – Oxford", "Köln – Liverpool"]


def column(page, table="results", number=0):
    rows = page.locator(f"#{table} tbody tr")
    return [
        " ".join(rows.nth(index).locator("td").nth(number).inner_text().split())
        for index in range(rows.count())
    ]


def test_north_rhine_westphalia_by_britain_then_sorted_by_name(open_browser, screenshot):
    page = open_browser()
    page.goto("/partnerships/")
    assert "Köln – Turku" in column(page)  # NRW with Finland: there to leak through

    region = page.get_by_label("Region of a side:", exact=True)
    region.select_option(label="Nordrhein-Westfalen")
    page.get_by_label("Partner's country:", exact=True).select_option(label="United Kingdom")
    page.get_by_role("button", name="Show").click()

    expect(page).to_have_url(re.compile(r"[?&]region=DE-NW(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]partner_country=GB(&|$)"))
    expect(page.locator("p.count")).to_have_text("3 partnerships")
    assert column(page) == NRW_GB_BY_START
    assert column(page, number=1) == ["Germany – United Kingdom"] * 3

    header = page.locator("#results thead th").first
    expect(header).not_to_have_attribute("aria-sort", re.compile("."))
    header.get_by_role("link", name="Partnership").click()
    expect(page).to_have_url(re.compile(r"[?&]sort=name(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]region=DE-NW&"))
    expect(page.locator("#results thead th").first).to_have_attribute("aria-sort", "ascending")
    expect(page.locator("#results thead th").first).to_have_text("Partnership ▲")
    assert column(page) == ["Bonn – Oxford", "Düsseldorf – Reading", "Köln – Liverpool"]
    expect(region).to_have_value("DE-NW")

    page.locator("#results thead th").first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"[?&]sort=-name(&|$)"))
    expect(page.locator("#results thead th").first).to_have_attribute("aria-sort", "descending")
    assert column(page) == ["Köln – Liverpool", "Düsseldorf – Reading", "Bonn – Oxford"]
    expect(page.locator("p.count")).to_have_text("3 partnerships")
    screenshot(page, "partnerships-nrw-gb-by-name")


def test_the_ranking_of_a_region(open_browser, screenshot):
    page = open_browser()
    page.goto("/rankings/")
    page.get_by_label("Region:", exact=True).select_option(label="Nordrhein-Westfalen")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"[?&]region=DE-NW(&|$)"))
    towns = column(page, "ranking", 1)
    assert towns[0] == "Köln"
    assert column(page, "ranking", 3)[0] == "24"  # the count is not of the region's partners
    assert "Lille" not in towns
    page.locator("#ranking thead").get_by_role("link", name="Municipality").click()
    expect(page).to_have_url(re.compile(r"[?&]sort=name(&|$)"))
    assert column(page, "ranking", 1) == sorted(towns, key=lambda name: name.casefold())
    screenshot(page, "ranking-nrw-by-name")


@pytest.mark.parametrize("path", ["/partnerships/?region=DE-NW", "/rankings/", "/networks/"])
def test_on_paper_no_navigation_filters_or_pages(open_browser, screenshot, path):
    page = open_browser()
    page.goto(path)
    navigation = page.get_by_role("navigation", name="Main")
    form = page.locator("form.filters")
    expect(navigation).to_be_visible()
    expect(form).to_be_visible()
    page.emulate_media(media="print")
    expect(navigation).to_be_hidden()
    expect(form).to_be_hidden()
    expect(page.locator("form.language")).to_be_hidden()
    expect(page.locator("p.downloads")).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    table = page.locator("table").first
    expect(table).to_be_visible()
    width = page.evaluate("document.querySelector('main').getBoundingClientRect().width")
    assert table.bounding_box()["width"] == pytest.approx(width, abs=1)
    screenshot(page, f"print-{path.strip('/').split('/')[0]}")
