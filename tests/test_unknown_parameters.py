"""A query parameter a page does not take is refused with a message naming it, on every
public page and its downloads, never silently ignored."""

import pytest
from conftest import municipality, network, partnership
from pages import errors, page

pytestmark = pytest.mark.django_db


@pytest.fixture
def record():
    koln = municipality("Köln", slug="koln")
    lille = municipality("Lille", "FR")
    link = partnership(koln, lille, start="1958")
    network("Neue Hanse", koln, lille, slug="neue-hanse")
    return link


LISTS = {
    "/municipalities/": "q, country, kind, region, seeking, has_partners, sort, format, sep, page",
    "/partnerships/": (
        "q, kind, status, country, region, partner_country, country_pair, founded_from, "
        "founded_to, municipality, theme, at_signing, sort, format, sep, page"
    ),
    "/networks/": "q, country, sort, format, sep, page",
    "/rankings/": "country, region, kind, status, domestic, on, sort, format, sep, page",
    "/awards/": "level, country, sort, format, sep, page",
}


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("download", ["", "&format=csv", "&format=json"])
def test_a_list_refuses_a_parameter_it_does_not_take(client, record, path, download):
    name = "region" if "region" not in LISTS[path] else "regio"
    response = client.get(f"{path}?{name}=DE-BY{download}")
    assert response.status_code == 400
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert errors(response) == [f"This page has no parameter “{name}”; it takes: {LISTS[path]}."]
    assert page(response).tables == {}


def test_each_unknown_parameter_is_named_once_beside_other_messages(client, record):
    response = client.get("/networks/?utm_source=x&country=QQ&utm_source=y&page=1&ref=z")
    assert response.status_code == 400
    assert errors(response) == [
        "Country of a member: There is no country with the code “QQ”.",
        "This page has no parameter “utm_source”; it takes: q, country, sort, format, sep, page.",
        "This page has no parameter “ref”; it takes: q, country, sort, format, sep, page.",
    ]


def test_known_parameters_still_work_empty_or_repeated(client, record):
    for url in [
        "/municipalities/?q=&country=&kind=&region=&seeking=&has_partners=&sort=&page=1",
        "/partnerships/?region=&partner_country=&country_pair=&theme=&page=1",
        "/rankings/?region=&sort=&on=&on=",
        "/networks/?q=hanse&q=Hanse",
    ]:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    ("url", "takes"),
    [
        ("/", "it takes none"),
        ("/statistics/", "it takes none"),
        ("/municipalities/koln/", "it takes: format"),
        ("/networks/neue-hanse/", "it takes: format"),
        ("/partnerships/{pk}/", "it takes: format"),
        ("/rankings/countries/", "it takes: format, sep, table, page"),
    ],
)
def test_a_page_without_filters_refuses_a_parameter_it_does_not_take(client, record, url, takes):
    url = url.format(pk=record.pk)
    response = client.get(f"{url}?region=DE-BY")
    assert response.status_code == 400
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert errors(response) == [f"This page has no parameter “region”; {takes}."]
    html = response.content.decode()
    assert f'<a href="{url}">The page without these parameters</a>' in html
    assert client.get(url).status_code == 200


def test_the_refusal_is_in_german_too(client, record):
    response = client.get("/?page=2", headers={"accept-language": "de"})
    assert response.status_code == 400
    assert errors(response) == ["Diese Seite hat keinen Parameter „page“; sie nimmt keine."]
    response = client.get("/networks/?region=DE-BY", headers={"accept-language": "de"})
    assert errors(response) == [
        "Diese Seite hat keinen Parameter „region“; sie nimmt: q, country, sort, format, sep, page."
    ]


def test_a_download_of_a_page_with_an_unknown_parameter_is_refused(client, record):
    response = client.get(f"/partnerships/{record.pk}/?format=json&as_of=today")
    assert response.status_code == 400
    assert errors(response) == ["This page has no parameter “as_of”; it takes: format."]
    response = client.get("/rankings/countries/?format=csv&table=pairs&limit=100")
    assert response.status_code == 400
    assert errors(response) == [
        "This page has no parameter “limit”; it takes: format, sep, table, page."
    ]
