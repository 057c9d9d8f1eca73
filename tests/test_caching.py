"""The cache of rankings, statistics and the home page: served without queries while nothing
changes, right per language and filter, and forgotten on every kind of change."""

import re
import uuid

import pytest
from conftest import country, municipality, network, partnership, staff_user
from django.core.cache.backends.redis import RedisCache
from django.core.management import call_command
from django.db import connection
from django.http import HttpResponse
from django.template import engines
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pages import column, rows

from registry import caching
from registry.importing import import_partnerships
from registry.models import (
    Country,
    Event,
    ImportRun,
    KindChange,
    Membership,
    Municipality,
    Partnership,
    StatusChange,
)

pytestmark = pytest.mark.django_db

Kind = Partnership.Kind
Status = Partnership.Status


@pytest.fixture
def towns():
    koeln, lille, liege = (
        municipality("Köln"),
        municipality("Lille", "FR"),
        municipality("Antwerpen", "BE"),
    )
    partnership(koeln, lille, start="1958")
    return koeln, lille, liege


def content(client, url):
    return client.get(url).content.decode()


def ranking(client, url="/rankings/"):
    response = client.get(url)
    assert response.status_code == 200, response.content.decode()[:2000]
    if "No municipality has partners under this rule." in response.content.decode():
        return []
    return rows(response, "ranking")


def test_cached_pages_run_no_query_until_the_data_changes(client, towns, django_assert_num_queries):
    koeln, lille, liege = towns
    urls = ["/", "/rankings/", "/rankings/?on=1970", "/rankings/countries/", "/statistics/"]
    first = {url: content(client, url) for url in urls}
    for url in urls:
        with django_assert_num_queries(0, info=url):
            assert content(client, url) == first[url]
    partnership(koeln, liege, start="1960")
    for url in urls:
        assert content(client, url) != first[url], url


def public_pages(koeln, lille):
    """Every public page, one of each kind."""
    link = Partnership.objects.get(first=koeln)
    hanse = network("Neue Hanse", koeln, lille)
    return [
        "/",
        "/municipalities/",
        "/municipalities/?q=K%C3%B6ln&sort=name",
        f"/municipalities/{koeln.slug}/",
        "/partnerships/",
        f"/partnerships/{link.pk}/",
        "/networks/",
        f"/networks/{hanse.slug}/",
        "/rankings/",
        "/rankings/countries/",
        "/awards/",
        "/statistics/",
    ]


def test_every_public_page_is_served_whole_until_the_data_changes(
    client, towns, django_assert_num_queries
):
    koeln, lille, liege = towns
    urls = public_pages(koeln, lille)
    first = {url: content(client, url) for url in urls}
    for url in urls:
        with django_assert_num_queries(0, info=url):
            response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"] == "text/html; charset=utf-8"
        assert response["Content-Language"] == "en"
        assert "Accept-Language" in response["Vary"]
        assert response["X-Frame-Options"] == "DENY"
        assert "Content-Security-Policy" in response
        assert content(client, url) == first[url]
    koeln.name = "Cologne"
    koeln.save()
    partnership(koeln, liege, start="1960")
    Partnership.objects.filter(kind=Kind.NETWORK).get().memberships.get(municipality=lille).delete()
    Event.objects.create(
        kind=Event.Kind.AWARD,
        award=Event.Award.EUROPE_PRIZE,
        title="Prize",
        date="1970",
        municipality=koeln,
    )
    for url in urls:
        assert content(client, url) != first[url], url


def test_a_cached_page_is_the_same_for_every_visitor_and_sets_no_cookie(towns):
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    page = first.get("/rankings/")
    cached = second.get("/rankings/")
    assert page.context is not None and cached.context is None  # rendered, then cached
    assert cached.content == page.content
    assert "csrfmiddlewaretoken" not in cached.content.decode()
    assert (page.cookies, cached.cookies) == ({}, {})
    assert page["Vary"] == cached["Vary"] == "Cookie, Accept-Language"
    # Its language switch works for the visitor who got the cached copy, as a browser sends it.
    switched = second.post(
        "/i18n/setlang/",
        {"language": "de", "next": "/rankings/"},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert (switched.status_code, switched["Location"]) == (302, "/rankings/")
    assert rows(second.get("/rankings/"), "ranking")[0] == ["1", "Köln", "Deutschland", "1"]
    assert rows(first.get("/rankings/"), "ranking")[0] == ["1", "Köln", "Germany", "1"]


def test_a_page_that_shows_the_visitors_csrf_token_is_never_stored(rf):
    """Were a public page to grow a form with a token, one visitor's token must not be served
    to the next."""
    template = engines["django"].from_string('<form method="post">{% csrf_token %}</form>')

    @caching.cached_page
    def form_page(request):
        return HttpResponse(template.render({}, request))

    first, second = form_page(rf.get("/form/")), form_page(rf.get("/form/"))
    tokens = [
        re.search(r'value="([^"]+)"', response.content.decode())[1] for response in (first, second)
    ]
    assert tokens[0] != tokens[1]
    assert caching.peek("page", "/form/", timezone.localdate()) is None


@pytest.mark.parametrize(
    "url, status",
    [
        ("/rankings/?format=csv", 200),
        ("/partnerships/?format=json", 200),
        ("/rankings/?country=XX", 400),
        ("/municipalities/nowhere/", 404),
    ],
)
def test_downloads_and_errors_are_made_afresh_each_time(client, towns, url, status):
    def body(response):
        assert response.status_code == status
        data = b"".join(response.streaming_content) if response.streaming else response.content
        return data.decode()

    first = body(client.get(url))
    with CaptureQueriesContext(connection) as queries:
        assert body(client.get(url)) == first
    assert len(queries) >= 1


def test_the_ranking_shows_a_new_partnership_at_once(client, towns):
    koeln, lille, liege = towns
    assert ranking(client) == [["1", "Köln", "Germany", "1"], ["1", "Lille", "France", "1"]]
    partnership(liege, lille)
    assert ranking(client) == [
        ["1", "Lille", "France", "2"],
        ["2", "Antwerpen", "Belgium", "1"],
        ["2", "Köln", "Germany", "1"],
    ]


def _end(koeln, lille, liege):
    link = Partnership.objects.get(first=koeln)
    link.status = Status.ENDED
    link.save()


def _delete(koeln, lille, liege):
    Partnership.objects.get(first=koeln).delete()


def _joint_partner(koeln, lille, liege):
    Membership.objects.create(
        partnership=Partnership.objects.get(first=koeln), municipality=liege, side="second"
    )


def _leave(koeln, lille, liege):
    _joint_partner(koeln, lille, liege)
    assert column(Client().get("/rankings/"), "ranking", 1) == ["Antwerpen", "Köln", "Lille"]
    Membership.objects.get(municipality=liege).delete()


def _rename(koeln, lille, liege):
    koeln.name = "Cologne"  # an instance read before its partnership: its count is stale
    koeln.save()


def _rename_country(koeln, lille, liege):
    germany = country("DE")
    germany.name_en = "Federal Republic of Germany"
    germany.save()


def _kind_history(koeln, lille, liege):
    link = Partnership.objects.get(first=koeln)
    KindChange.objects.create(partnership=link, kind=Kind.FRIENDSHIP, date="1958")
    KindChange.objects.create(partnership=link, kind=Kind.OFFICIAL, date="1990")


def _status_history(koeln, lille, liege):
    link = Partnership.objects.get(first=koeln)
    StatusChange.objects.create(partnership=link, status=Status.SUSPENDED, date="1960")
    StatusChange.objects.create(partnership=link, status=Status.ACTIVE, date="1990")


def _import(koeln, lille, liege):
    data = "municipality_a,country_a,municipality_b,country_b,start\nAntwerpen,BE,Lille,FR,1970\n"
    report = import_partnerships(data.encode(), file_name="list.csv")
    assert report.written


def _revert(koeln, lille, liege):
    _import(koeln, lille, liege)
    assert column(Client().get("/rankings/?on=1970"), "ranking", 1) == [
        "Lille",
        "Antwerpen",
        "Köln",
    ]
    ImportRun.objects.get().revert(staff_user("editor"))


def _loaddata(koeln, lille, liege):
    call_command("load_record", verbosity=0)


@pytest.mark.parametrize(
    ("change", "url", "expected"),
    [
        (_end, "/rankings/", []),
        (_delete, "/rankings/?on=1970", []),
        (
            _joint_partner,
            "/rankings/?on=1970",
            [
                ["1", "Antwerpen", "Belgium", "1"],
                ["1", "Köln", "Germany", "1"],
                ["1", "Lille", "France", "1"],
            ],
        ),
        (_leave, "/rankings/", [["1", "Köln", "Germany", "1"], ["1", "Lille", "France", "1"]]),
        (_rename, "/rankings/", [["1", "Cologne", "Germany", "1"], ["1", "Lille", "France", "1"]]),
        (
            _rename_country,
            "/rankings/",
            [["1", "Köln", "Federal Republic of Germany", "1"], ["1", "Lille", "France", "1"]],
        ),
        (_kind_history, "/rankings/?on=1970", []),
        (_status_history, "/rankings/?on=1970", []),
        (
            _import,
            "/rankings/?on=1970",
            [
                ["1", "Lille", "France", "2"],
                ["2", "Antwerpen", "Belgium", "1"],
                ["2", "Köln", "Germany", "1"],
            ],
        ),
        (
            _revert,
            "/rankings/?on=1970",
            [["1", "Köln", "Germany", "1"], ["1", "Lille", "France", "1"]],
        ),
    ],
)
def test_every_kind_of_change_shows_on_the_next_request(client, towns, change, url, expected):
    before = [["1", "Köln", "Germany", "1"], ["1", "Lille", "France", "1"]]
    assert ranking(client, url) == before
    change(*towns)
    assert ranking(client, url) == expected


def test_loading_the_record_shows_on_the_next_request(client, towns):
    assert ranking(client)[:1] == [["1", "Köln", "Germany", "1"]]
    _loaddata(*towns)
    assert ranking(client)[:1] == [["1", "Köln", "Germany", "24"]]


def test_an_award_shows_on_the_home_page_and_statistics_follow_a_new_partnership(client, towns):
    koeln, lille, liege = towns
    version = caching.data_version()
    Event.objects.create(
        kind=Event.Kind.AWARD,
        award=Event.Award.EUROPE_PRIZE,
        title="Prize",
        date="1970",
        municipality=koeln,
    )
    assert caching.data_version() != version
    statistics = content(client, "/statistics/")
    partnership(liege, lille, start="1975")
    assert content(client, "/statistics/") != statistics


def test_a_page_is_cached_per_language(client, towns):
    assert ranking(client) == [["1", "Köln", "Germany", "1"], ["1", "Lille", "France", "1"]]
    german = client.get("/rankings/", headers={"accept-language": "de"})
    assert rows(german, "ranking") == [
        ["1", "Köln", "Deutschland", "1"],
        ["1", "Lille", "Frankreich", "1"],
    ]
    assert ranking(client) == [["1", "Köln", "Germany", "1"], ["1", "Lille", "France", "1"]]


def test_a_page_is_cached_per_filter_as_the_filters_read_the_query(
    client, towns, django_assert_num_queries
):
    assert ranking(client, "/rankings/?country=FR") == [["1", "Lille", "France", "1"]]
    assert ranking(client, "/rankings/?country=DE") == [["1", "Köln", "Germany", "1"]]
    with django_assert_num_queries(1):  # the country's code is checked, the rows are cached
        assert ranking(client, "/rankings/?kind=&country=DE") == [["1", "Köln", "Germany", "1"]]


def test_the_countries_of_the_filter_forms_are_read_once_and_follow_a_change(
    client, towns, django_assert_num_queries
):
    client.get("/rankings/")
    with django_assert_num_queries(1):  # the page with its count, not the countries
        client.get("/municipalities/")
    germany = Country.objects.get(code="DE")
    germany.name_en = "Germany (FRG)"
    germany.save()
    html = client.get("/municipalities/").content.decode()
    assert '<option value="DE">Germany (FRG)</option>' in html


def test_the_version_is_replaced_again_when_the_change_commits(
    towns, django_capture_on_commit_callbacks
):
    koeln, lille, liege = towns
    with django_capture_on_commit_callbacks(execute=True):
        partnership(koeln, liege)
        during = caching.data_version()
    assert caching.data_version() != during


def test_a_lost_version_is_never_an_old_one(towns):
    """Local memory may cull the version; its successor is new, never one a page was cached
    under."""
    before = caching.data_version()
    caching.cache.delete(caching.VERSION_KEY)
    assert caching.data_version() not in (before, None)


REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_cache(settings):
    """The site's cache in Redis under a prefix of this test's own, emptied afterwards. Redis
    runs on the development machine and in CI: without it the test fails, never skips."""
    import redis

    raw = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        raw.ping()
    except redis.exceptions.ConnectionError as error:
        pytest.fail(f"Redis does not answer on {REDIS_URL} ({error}); start it (README).")
    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
            "TIMEOUT": 60,
        }
    }
    yield raw, prefix
    for key in raw.scan_iter(f"{prefix}:*"):
        raw.delete(key)


def test_with_redis_the_cache_is_shared_and_forgotten_on_change(client, towns, redis_cache):
    raw, prefix = redis_cache
    koeln, lille, liege = towns
    assert ranking(client) == [["1", "Köln", "Germany", "1"], ["1", "Lille", "France", "1"]]
    # Stored in Redis, not in this process.
    assert any(b":registry:page:" in key for key in raw.scan_iter(f"{prefix}:*"))
    # A change that sends no signal here (another app server's, say) is not seen ...
    Municipality.objects.filter(pk=koeln.pk).update(name="Cologne")
    assert ranking(Client())[0] == ["1", "Köln", "Germany", "1"]
    # ... until that server replaces the data version in the shared cache.
    other_server = RedisCache(REDIS_URL, {"KEY_PREFIX": prefix})
    other_server.set(caching.VERSION_KEY, uuid.uuid4().hex, timeout=None)
    assert ranking(Client())[0] == ["1", "Cologne", "Germany", "1"]
    partnership(liege, lille)
    assert ranking(Client())[0] == ["1", "Lille", "France", "2"]


@pytest.fixture
def poisonable(towns):
    """Records on which each filter's two readings below give different pages."""
    koeln, lille, liege = towns
    gent = municipality("Gent", "BE")
    partnership(koeln, liege, start="1985")
    partnership(gent, lille, kind=Kind.ADOPTION, start="1990")
    network("Neue Hanse", koeln, gent)
    network("Städtebund", lille)
    for level, town in ((Event.Award.EUROPE_PRIZE, koeln), (Event.Award.FLAG_OF_HONOUR, lille)):
        Event.objects.create(
            kind=Event.Kind.AWARD, award=level, title="Prize", date="1970", municipality=town
        )
    return towns


# (page, parameter, value): each page that a filter reads, with a value the filter reads
# differently from another value, or from none.
POISONABLE = [
    ("/rankings/", "on", "1970"),
    ("/rankings/", "country", "FR"),
    ("/rankings/", "kind", "any"),
    ("/rankings/", "domestic", "only"),
    ("/municipalities/", "country", "FR"),
    ("/municipalities/", "sort", "-name"),
    ("/partnerships/", "kind", "adoption"),
    ("/partnerships/", "country", "FR"),
    ("/partnerships/", "sort", "-start"),
    ("/networks/", "country", "FR"),
    ("/awards/", "level", "europe_prize"),
    ("/awards/", "country", "DE"),
    ("/rankings/countries/", "table", "pairs"),
    ("/partnerships/{pk}/", "format", "json"),
]


def _fresh(client, url):
    caching.forget()
    try:
        return client.get(url).content.decode()
    finally:
        caching.forget()


@pytest.mark.parametrize("page, name, value", POISONABLE)
def test_a_repeated_or_empty_parameter_never_changes_what_the_plain_page_shows(
    client, poisonable, page, name, value
):
    """A repeated parameter is read as the filters read it (the last value), and no variant
    of a query string leaves its page in the cache under another query string's key."""
    page = page.format(pk=Partnership.objects.bilateral().order_by("pk")[0].pk)
    plain = f"{page}?{name}={value}"
    other = "official" if value != "official" else "adoption"
    variants = [
        f"{plain}&{name}=",  # read as empty
        f"{page}?{name}=&{name}={value}",  # read as the value: must show the plain page
        f"{plain}&{name}={other}",  # read as the other value
        f"{plain}&{name}=&page=1",
    ]
    expected = _fresh(client, plain)
    assert expected != _fresh(client, f"{page}?{name}="), "the two readings must differ"
    for variant in variants:
        shown = _fresh(client, variant)
        caching.forget()
        for _ in range(3):
            assert content(client, variant) == shown, variant
        assert content(client, plain) == expected, variant
        assert content(client, f"{page}?{name}=") == _fresh(client, f"{page}?{name}="), variant


def test_the_examples_of_the_report_show_what_their_query_reads(client, poisonable):
    for _ in range(16):
        client.get("/rankings/?on=1970&on=")
    assert ranking(client, "/rankings/?on=1970") == [
        ["1", "Köln", "Germany", "1"],
        ["1", "Lille", "France", "1"],
    ]
    assert "Counted for Dec. 31, 1970" in content(client, "/rankings/?on=1970")
    assert ranking(client, "/rankings/?on=1970&on=")[0] == ["1", "Köln", "Germany", "2"]
    client.get("/partnerships/?kind=adoption&kind=official")
    shown = client.get("/partnerships/?kind=adoption")
    assert [row[:2] for row in rows(shown, "results")] == [["Gent – Lille", "Belgium – France"]]
