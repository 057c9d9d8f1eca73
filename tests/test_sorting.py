"""Column headers that sort a list: links keeping the filters, the order turned round on a
second click, said by an arrow and aria-sort; and the rankings sorted by name or country."""

import re
from html import unescape

import pytest
from conftest import municipality, network, partnership
from pages import column, rows, table

pytestmark = pytest.mark.django_db


@pytest.fixture
def towns():
    koeln = municipality("Köln", slug="koln")
    aachen = municipality("Aachen")
    lille = municipality("Lille", "FR")
    brugge = municipality("Brugge", "BE")
    partnership(koeln, lille, start="1958")
    partnership(koeln, brugge, start="1970")
    partnership(aachen, lille, start="1960")
    network("Neue Hanse", koeln, brugge, start="1980")
    network("Städtebund", koeln, aachen, lille, start="1990")
    return koeln, aachen, lille, brugge


def headers(response):
    """Each header cell of the list's table: (text, aria-sort, link) as a person meets them."""
    html = response.content.decode()
    head = re.search(r"<thead>(.*?)</thead>", html, re.S).group(1)
    found = []
    for attrs, inner in re.findall(r"<th([^>]*)>(.*?)</th>", head, re.S):
        sort = re.search(r'aria-sort="([^"]*)"', attrs)
        link = re.search(r'href="([^"]*)"', inner)
        text = " ".join(re.sub(r"<[^>]+>", "", inner).split())
        found.append((unescape(text), sort and sort.group(1), link and unescape(link.group(1))))
    return found


def test_municipality_headers_sort_and_keep_the_filters(client, towns):
    response = client.get("/municipalities/?country=DE&page=1")
    assert headers(response) == [
        ("Name ▲", "ascending", "?country=DE&sort=-name"),
        ("Kind", None, None),
        ("Country", None, "?country=DE&sort=country"),
        ("Region", None, None),
        ("Partners", None, "?country=DE&sort=-partners"),
    ]
    response = client.get("/municipalities/?country=DE&sort=-name")
    assert column(response) == ["Köln", "Aachen"]
    assert headers(response)[0] == ("Name ▼", "descending", "?country=DE&sort=name")
    response = client.get("/municipalities/?sort=-partners&q=")
    assert column(response) == ["Köln", "Lille", "Aachen", "Brugge"]
    assert headers(response)[4] == ("Partners ▼", "descending", "?sort=partners&q=")
    response = client.get("/municipalities/?sort=country")
    assert headers(response)[2] == ("Country ▲", "ascending", "?sort=-country")
    response = client.get("/municipalities/?sort=-country")
    assert column(response) == ["Köln", "Aachen", "Lille", "Brugge"]


def test_partnership_headers_sort_by_name_and_start(client, towns):
    response = client.get("/partnerships/?country=DE")
    assert [(text, sort, link) for text, sort, link in headers(response)] == [
        ("Partnership", None, "?country=DE&sort=name"),
        ("Countries", None, None),
        ("Kind", None, None),
        ("Dates ▲", "ascending", "?country=DE&sort=-start"),
        ("Status", None, None),
    ]
    response = client.get("/partnerships/?country=DE&sort=name")
    assert column(response) == ["Aachen – Lille", "Köln – Brugge", "Köln – Lille"]
    response = client.get("/partnerships/?country=DE&sort=-start")
    assert column(response) == ["Köln – Brugge", "Aachen – Lille", "Köln – Lille"]
    assert headers(response)[3] == ("Dates ▼", "descending", "?country=DE&sort=start")


def test_network_headers_sort_by_name_members_and_founding(client, towns):
    response = client.get("/networks/")
    assert headers(response) == [
        ("Network ▲", "ascending", "?sort=-name"),
        ("Members", None, "?sort=-members"),
        ("Founded", None, "?sort=start"),
        ("Status", None, None),
    ]
    assert column(client.get("/networks/?sort=-name")) == ["Städtebund", "Neue Hanse"]
    assert column(client.get("/networks/?sort=members")) == ["Neue Hanse", "Städtebund"]
    assert column(client.get("/networks/?sort=-start")) == ["Städtebund", "Neue Hanse"]


@pytest.mark.parametrize("on", ["", "&on=1965"])
def test_the_ranking_sorts_by_name_and_country_with_the_ranks_it_counted(client, towns, on):
    by_rank = rows(client.get(f"/rankings/?sort=rank{on}"), "ranking")
    by_name = rows(client.get(f"/rankings/?sort=name{on}"), "ranking")
    by_country = rows(client.get(f"/rankings/?sort=country{on}"), "ranking")
    assert sorted(by_name) == sorted(by_rank)
    assert [row[1] for row in by_name] == sorted(row[1] for row in by_rank)
    if on:  # Köln – Lille and Aachen – Lille had begun
        assert by_rank == [
            ["1", "Lille", "France", "2"],
            ["2", "Aachen", "Germany", "1"],
            ["2", "Köln", "Germany", "1"],
        ]
        assert by_country == by_rank
    else:
        assert by_name == [
            ["2", "Aachen", "Germany", "1"],
            ["2", "Brugge", "Belgium", "1"],
            ["1", "Köln", "Germany", "2"],
            ["1", "Lille", "France", "2"],
        ]
        assert by_country == [
            ["2", "Brugge", "Belgium", "1"],
            ["1", "Lille", "France", "2"],
            ["2", "Aachen", "Germany", "1"],
            ["1", "Köln", "Germany", "2"],
        ]


def test_the_ranking_headers_keep_the_rule(client, towns):
    response = client.get("/rankings/?kind=any&on=1965&page=1")
    assert table(response, "ranking")[0] == ["Rank ▲", "Municipality", "Country", "Partners"]
    assert headers(response)[:3] == [
        ("Rank ▲", "ascending", "?kind=any&on=1965&sort=rank"),
        ("Municipality", None, "?kind=any&on=1965&sort=name"),
        ("Country", None, "?kind=any&on=1965&sort=country"),
    ]
    response = client.get("/rankings/?sort=name&kind=any")
    assert headers(response)[1] == ("Municipality ▲", "ascending", "?sort=-name&kind=any")


def test_a_ranking_sorted_by_name_is_ranked_on_every_page(client, django_assert_num_queries):
    for number in range(80):  # 53 towns with partners: two pages
        town = municipality(f"Town {number:02d}")
        for partner in range(number % 3):
            partnership(town, municipality(f"Partner {number}-{partner}", "FR"))
    client.get("/rankings/?country=DE")  # the countries cached
    with django_assert_num_queries(2):  # the country's code; the rows, ranks and count
        first = client.get("/rankings/?country=DE&sort=-name")
    assert rows(first, "ranking")[:3] == [
        ["2", "Town 79", "Germany", "1"],
        ["1", "Town 77", "Germany", "2"],
        ["2", "Town 76", "Germany", "1"],
    ]
    with django_assert_num_queries(2):  # the country's code; the rows with their ranks
        second = client.get("/rankings/?country=DE&sort=-name&page=2")
    assert rows(second, "ranking") == [
        ["2", "Town 04", "Germany", "1"],
        ["1", "Town 02", "Germany", "2"],
        ["2", "Town 01", "Germany", "1"],
    ]
