"""Every public page, and the admin's changelists, make the same number of queries however
large the registry: measured on a small and a ten times larger world from registry/synthetic.py,
loaded through the import path (issue 5: "the same number of queries at 1,000 and at 200,000
rows"; the benchmark shows the timings).

The two worlds are loaded once for the module, each inside a transaction that is rolled back,
and every page is asked for with an empty cache, so the count is that of the real work.
"""

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry.models import Event, Municipality, Partnership
from registry.synthetic import World, load
from registry.views import PAGE_SIZE

# The tests read what the module's fixture measured; the mark makes pytest-django set up the
# test database for it.
pytestmark = pytest.mark.django_db

SMALL, MEDIUM = 0.005, 0.05  # 1,000 and 10,000 municipalities; 500 and 5,000 partnerships

PAGES = [
    "home",
    "municipalities",
    "municipalities, deepest page",
    "municipalities, filtered",
    "municipalities, searched",
    "municipalities, most partners first",
    "municipality with most partners",
    "partnerships",
    "partnerships, deepest page",
    "partnerships, filtered",
    "partnership of the most connected town",
    "networks",
    "largest network",
    "rankings",
    "rankings, 1970",
    "rankings, friendships of any status",
    "rankings, Germany without domestic partners",
    "country rankings",
    "country rankings, pairs",
    "awards",
    "statistics",
    "admin: partnerships",
    "admin: municipalities",
    "admin: events",
]


def paths():
    """Each page's address in the world now loaded."""
    municipalities = reverse("registry:municipalities")
    partnerships = reverse("registry:partnerships")
    ranking = reverse("registry:ranking")
    top = Municipality.objects.order_by("-partner_count", "pk").first()
    partnership = Partnership.objects.involving(top).bilateral().order_by("pk").first()
    network = Partnership.objects.for_network_list().order_by("-member_count", "pk").first()
    deepest = -(-Municipality.objects.count() // PAGE_SIZE)
    deepest_partnerships = -(-Partnership.objects.bilateral().count() // PAGE_SIZE)
    found = {
        "home": reverse("registry:home"),
        "municipalities": municipalities,
        "municipalities, deepest page": f"{municipalities}?page={deepest}",
        "municipalities, filtered": f"{municipalities}?country=DE&has_partners=yes",
        "municipalities, searched": f"{municipalities}?q=ba",
        "municipalities, most partners first": f"{municipalities}?sort=-partners",
        "municipality with most partners": top.get_absolute_url(),
        "partnerships": partnerships,
        "partnerships, deepest page": f"{partnerships}?page={deepest_partnerships}",
        "partnerships, filtered": f"{partnerships}?kind=friendship",
        "partnership of the most connected town": partnership.get_absolute_url(),
        "networks": reverse("registry:networks"),
        "largest network": network.get_absolute_url(),
        "rankings": ranking,
        "rankings, 1970": f"{ranking}?on=1970",
        "rankings, friendships of any status": f"{ranking}?kind=friendship",
        "rankings, Germany without domestic partners": f"{ranking}?country=DE&domestic=exclude",
        "country rankings": reverse("registry:country_ranking"),
        "country rankings, pairs": f"{reverse('registry:country_ranking')}?table=pairs",
        "awards": reverse("registry:awards"),
        "statistics": reverse("registry:statistics"),
        "admin: partnerships": reverse("admin:registry_partnership_changelist"),
        "admin: municipalities": reverse("admin:registry_municipality_changelist"),
        "admin: events": reverse("admin:registry_event_changelist"),
    }
    assert list(found) == PAGES
    return found


def measure():
    """{page: (status, queries, rows read from the database)} with an empty cache."""
    anonymous, admin = Client(), Client()
    admin.force_login(User.objects.get(username="scale-admin"))
    measured = {}
    for name, path in paths().items():
        client = admin if name.startswith("admin:") else anonymous
        client.get(path)  # the first request may fill caches the count should not see
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        measured[name] = (response.status_code, len(captured))
    return measured


@pytest.fixture(scope="module")
def worlds(django_db_setup, django_db_blocker, tmp_path_factory):
    """The pages measured in the small and in the medium world, and how big each was."""
    storage = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    results = {}
    with (
        django_db_blocker.unblock(),
        override_settings(
            STORAGES={
                "staticfiles": storage,
                "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            }
        ),
        transaction.atomic(),
    ):
        User.objects.create_superuser("scale-admin", password=None)
        for scale in (SMALL, MEDIUM):
            with transaction.atomic():
                load(World(scale), tmp_path_factory.mktemp(f"world-{scale:g}"))
                size = (
                    Municipality.objects.count(),
                    Partnership.objects.count(),
                    Event.objects.count(),
                )
                results[scale] = (size, measure())
                transaction.set_rollback(True)
        transaction.set_rollback(True)
    cache.clear()
    return results


def test_the_medium_world_is_ten_times_the_small_one(worlds):
    (small, _), (medium, _) = worlds[SMALL], worlds[MEDIUM]
    assert small == (1000, 502, 1500)
    assert medium == (10000, 5008, 15000)


@pytest.mark.parametrize("page", PAGES)
def test_page_makes_the_same_number_of_queries_at_both_sizes(worlds, page):
    (_, small), (_, medium) = worlds[SMALL], worlds[MEDIUM]
    assert small[page][0] == 200
    assert medium[page][0] == 200
    assert small[page][1] == medium[page][1]
