"""Merging municipality B into A, undoing it, and making B a district of A (registry.merging)."""

import io
import json
from collections import Counter
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import formats
from django.utils.timezone import localtime
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

import tests.test_counts_property as counts_property
from registry.merging import MergeRefused, make_district, merge, plan_merge, undo_merge
from registry.models import (
    AlternativeName,
    CorrectionReport,
    Country,
    Event,
    Membership,
    Merge,
    Municipality,
    Partnership,
    Source,
)
from tests.admin_pages import page_messages
from tests.conftest import database_state, municipality, network, partnership

pytestmark = pytest.mark.django_db


def source(key):
    return Source.objects.create(key=key, citation=key.title())


def dump():
    """The registry as ``dumpdata`` writes it, without the histories (undoing writes versions
    of its own) and the merges (the undone merge stays, marked undone)."""
    out = io.StringIO()
    excluded = [
        f"registry.{name}"
        for name in ("merge",)
        + tuple(
            model._meta.model_name
            for model in Municipality._meta.apps.get_app_config("registry").get_models()
            if model._meta.model_name.startswith("historical")
        )
    ]
    call_command(
        "dumpdata",
        "registry",
        natural_foreign=True,
        exclude=excluded,
        indent=1,
        stdout=out,
    )
    return json.loads(out.getvalue())


@pytest.fixture
def record():
    call_command("load_record", verbosity=0)


@pytest.fixture
def cologne(record):
    """Köln twice: "Cologne", planted with a partnership duplicating Köln's with Lille (another
    source) and one with a town Köln has none with; a joint partner, an event, a name."""
    koeln = Municipality.objects.get(slug="koln")
    cologne = municipality("Cologne", slug="cologne")
    lille = Municipality.objects.get(slug="lille")
    duplicate = partnership(cologne, lille, start="1958")
    duplicate.sources.add(source("wikipedia"))
    new = partnership(municipality("Neustadt"), cologne)
    new.sources.add(source("neustadt"))
    Event.objects.create(
        municipality=cologne, kind=Event.Kind.FOUNDING, title="Founded", date="0050"
    )
    AlternativeName.objects.create(municipality=cologne, name="Colonia")
    return koeln, cologne, duplicate, new


def test_merge_on_the_record_moves_merges_and_counts_exactly(cologne, editor):
    koeln, cologne_town, duplicate, new = cologne
    kept = Partnership.objects.get(slug="koln--lille")
    kept_sources = set(kept.sources.values_list("key", flat=True))
    assert koeln.partner_count == 24
    lille_before = Municipality.objects.get(slug="lille").partner_count
    names_before = set(koeln.alternative_names.values_list("name", "kind"))
    assert ("Cologne", "exonym") in names_before

    record = merge(koeln, cologne_town, editor)

    koeln.refresh_from_db()
    assert koeln.partner_count == 25
    assert not Municipality.objects.filter(pk=cologne_town.pk).exists()
    assert not Partnership.objects.filter(pk=duplicate.pk).exists()
    assert set(kept.sources.values_list("key", flat=True)) == kept_sources | {"wikipedia"}
    new.refresh_from_db()
    assert (new.second, new.second_name_at_signing) == (koeln, "Cologne")
    assert Event.objects.get(title="Founded").municipality == koeln
    # The record knows "Cologne" as Köln's exonym already: kept once, as it was.
    assert set(koeln.alternative_names.values_list("name", "kind")) == names_before | {
        ("Colonia", "exonym")
    }
    # Lille had Köln twice, as Köln and as Cologne: now once.
    assert Municipality.objects.get(slug="lille").partner_count == lille_before - 1
    reason = "Merged Cologne into Köln"
    assert list(
        koeln.history.filter(history_change_reason=reason).values_list(
            "history_type", "history_user"
        )
    ) == [("~", editor.pk)]
    assert list(
        Municipality.history.filter(id=cologne_town.pk, history_type="-").values_list(
            "history_change_reason", flat=True
        )
    ) == [reason]
    assert list(
        Partnership.history.filter(id=duplicate.pk, history_type="-").values_list(
            "history_change_reason", flat=True
        )
    ) == [reason]
    assert Partnership.history.filter(id=new.pk, history_change_reason=reason).count() == 1
    assert (record.merged_name, record.into, record.created_by) == ("Cologne", koeln, editor)
    assert record.summary["merged"] == 1 and record.summary["moved"] == 1


def test_a_partnership_between_the_two_refuses_the_merge_and_names_it():
    a, b = municipality("Köln"), municipality("Cologne")
    partnership(a, b)
    plan = plan_merge(a, b)
    assert plan.refused == [
        "“Köln – Cologne” is a partnership between the two: end or delete it before merging."
    ]
    with pytest.raises(MergeRefused):
        merge(a, b, None)
    assert Municipality.objects.filter(pk=b.pk).exists()


def test_the_plan_writes_nothing(cologne):
    koeln, cologne_town, _duplicate, _new = cologne
    before = database_state()
    plan = plan_merge(koeln, cologne_town)
    assert plan.counts() == {
        "moved": 1,
        "merged": 1,
        "memberships_moved": 0,
        "memberships_merged": 0,
        "events": 1,
        "names_moved": 1,
        "names_dropped": 0,
        "parts": 0,
        "sources": 0,
    }
    assert plan.new_name == ""  # Köln is known as Cologne already
    assert database_state() == before


def test_undo_restores_the_database_exactly(cologne, editor):
    koeln, cologne_town, _duplicate, _new = cologne
    hanse = network("Hanse", koeln, cologne_town)
    Membership.objects.get(partnership=hanse, municipality=cologne_town).sources.add(
        source("hanse")
    )
    district = municipality("Porz", parent=cologne_town)
    cologne_town.sources.add(source("town"))
    before = dump()

    record = merge(koeln, cologne_town, editor)
    assert Municipality.objects.get(pk=district.pk).parent == koeln
    assert dump() != before
    undo_merge(record, editor)

    assert dump() == before
    record.refresh_from_db()
    assert record.undone is not None and record.undone_by == editor
    with pytest.raises(MergeRefused, match="undone before"):
        undo_merge(record, editor)


def test_the_publics_reports_about_the_town_and_its_partnership_move_and_come_back(cologne, editor):
    """A correction reported about B, or about a partnership of B's that is merged into one of
    A's, is not deleted with them: it moves to A's, and an undo puts it back."""
    koeln, cologne_town, duplicate, _new = cologne
    kept = Partnership.objects.get(slug="koln--lille")
    about_town = CorrectionReport.objects.create(municipality=cologne_town, text="Is Köln")
    about_pair = CorrectionReport.objects.create(partnership=duplicate, text="Twice")
    before = dump()

    record = merge(koeln, cologne_town, editor)
    about_town.refresh_from_db()
    about_pair.refresh_from_db()
    assert (about_town.municipality, about_pair.partnership) == (koeln, kept)

    undo_merge(record, editor)
    assert dump() == before
    about_town.refresh_from_db()
    about_pair.refresh_from_db()
    assert (about_town.municipality_id, about_pair.partnership_id) == (
        cologne_town.pk,
        duplicate.pk,
    )


def test_undo_is_refused_after_a_later_change_of_a_moved_row(cologne, editor):
    koeln, cologne_town, _duplicate, new = cologne
    record = merge(koeln, cologne_town, editor)
    new.refresh_from_db()
    new.description = "Changed later"
    new.save()
    with pytest.raises(MergeRefused, match="was changed after the merge"):
        undo_merge(record, editor)
    new.refresh_from_db()
    assert new.description == "Changed later"


def test_a_district_keeps_its_partnerships_and_refuses_circles_and_other_countries(editor):
    berlin, neukoelln = municipality("Berlin"), municipality("Neukölln")
    link = partnership(neukoelln, municipality("Leipzig"))
    make_district(berlin, neukoelln, editor)
    neukoelln.refresh_from_db()
    assert neukoelln.parent == berlin
    assert Partnership.objects.get(pk=link.pk).first == neukoelln
    assert neukoelln.history.latest().history_change_reason == (
        "Made Neukölln a district of Berlin"
    )
    with pytest.raises(MergeRefused, match="would make a circle"):
        make_district(neukoelln, berlin, editor)
    with pytest.raises(MergeRefused, match="another country"):
        make_district(municipality("Paris", "FR"), municipality("Montmartre"), editor)


def test_the_name_of_the_town_merged_becomes_an_alternative_name(editor):
    koeln, koeln_twice = municipality("Köln"), municipality("Koeln")
    partner = municipality("Lille", "FR")
    partnership(koeln, partner)
    partnership(koeln_twice, partner, kind=Partnership.Kind.FRIENDSHIP)
    merge(koeln, koeln_twice, editor)
    assert list(koeln.alternative_names.values_list("name", "kind")) == [("Koeln", "variant")]
    assert AlternativeName.history.get(name="Koeln").history_change_reason == (
        "Merged Koeln into Köln"
    )
    assert sorted(koeln.partnerships_as_first.values_list("kind", "second__name")) == [
        ("friendship", "Lille"),
        ("official", "Lille"),
    ]


class RandomMergeTests(HypothesisTestCase):
    """Random small worlds (the operations of tests/test_counts_property.py), then a random
    merge: every stored count equals a full recount, and undoing it restores the dump."""

    towns = []
    apply = counts_property.StoredCountsTests.apply

    def setUp(self):
        germany = Country.objects.get(code="DE")
        self.towns = [
            Municipality.objects.create(name=f"Town {number}", slug=f"t{number}", country=germany)
            for number in range(counts_property.TOWNS)
        ]

    def counted_here(self):
        counts = Counter()
        for link in Partnership.objects.counted().prefetch_related("memberships"):
            taking_part = {link.first_id, link.second_id} - {None}
            taking_part |= {m.municipality_id for m in link.memberships.all()}
            counts.update(taking_part)
        return {pk: counts[pk] for pk in Municipality.objects.values_list("pk", flat=True)}

    def stored(self):
        return dict(Municipality.objects.values_list("pk", "partner_count"))

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        st.lists(counts_property.operations, min_size=1, max_size=15),
        st.integers(0, counts_property.TOWNS - 1),
        st.integers(0, counts_property.TOWNS - 1),
    )
    def test_a_random_merge_keeps_every_count_equal_to_a_recount(self, sequence, into, merged):
        for operation in sequence:
            self.apply(operation)
        a, b = self.towns[into], self.towns[merged]
        assume(not plan_merge(a, b).refused)
        before = dump()
        record = merge(a, b, None)
        assert self.stored() == self.counted_here()
        Municipality.objects.recount_partners()
        assert self.stored() == self.counted_here()
        undo_merge(record, None)
        assert dump() == before


class _ListItems(HTMLParser):
    """The text of each item of the list of class ``css_class`` (nested lists included)."""

    def __init__(self, css_class):
        super().__init__()
        self.css_class, self.items, self._depth, self._item = css_class, [], 0, None

    def handle_starttag(self, tag, attrs):
        if tag == "ul" and (self._depth or self.css_class in (dict(attrs).get("class") or "")):
            self._depth += 1
        elif tag == "li" and self._depth == 1:
            self._item = []

    def handle_endtag(self, tag):
        if tag == "ul" and self._depth:
            self._depth -= 1
        elif tag == "li" and self._depth == 1 and self._item is not None:
            self.items.append(" ".join(" ".join(self._item).split()))
            self._item = None

    def handle_data(self, data):
        if self._item is not None:
            self._item.append(data)


def list_items(response, css_class):
    parser = _ListItems(css_class)
    parser.feed(response.content.decode())
    return parser.items


def merge_url(town):
    return reverse("admin:registry_municipality_merge", args=[town.pk])


def world(partners):
    """Köln, and "Koeln" with ``partners`` partnerships, one of them duplicating Köln's."""
    koeln, koeln_twice = municipality("Köln"), municipality("Koeln")
    lille = municipality("Lille", "FR")
    partnership(koeln, lille)
    partnership(koeln_twice, lille)
    for number in range(partners - 1):
        partnership(koeln_twice, municipality(f"Partner {number}"))
    return koeln, koeln_twice


@pytest.mark.parametrize("partners", [1, 3])
def test_the_preview_lists_what_moves_writes_nothing_in_constant_queries(
    editor_client, django_assert_num_queries, partners
):
    koeln, koeln_twice = world(partners)
    before = database_state()
    with django_assert_num_queries(16):
        response = editor_client.get(merge_url(koeln_twice), {"into": koeln.pk})
    assert response.status_code == 200
    assert database_state() == before
    moved = [f"Koeln – Partner {number}" for number in range(partners - 1)]
    counted = f"{partners - 1} partnership{'' if partners == 2 else 's'} move to Köln"
    counted = counted.replace("partnership move", "partnership moves")
    assert list_items(response, "merge-preview") == [
        f"{counted}: {' '.join(moved)}" if moved else counted,
        "1 partnership duplicates one of Köln's and is merged into it, both sources kept: "
        "Koeln – Lille into Köln – Lille",
        "0 memberships move",
        "0 memberships are merged into Köln's",
        "0 events move",
        "0 alternative names move",
        "“Koeln” becomes an alternative name of Köln",
        "0 municipalities part of it or merged into it now belong to Köln",
        "0 sources of Koeln become sources of Köln",
    ]


def test_confirming_merges_and_the_merges_list_undoes_it(editor_client):
    koeln, koeln_twice = world(2)
    response = editor_client.post(merge_url(koeln_twice), {"into": koeln.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:registry_municipality_change", args=[koeln.pk])
    assert not Municipality.objects.filter(pk=koeln_twice.pk).exists()
    record = Merge.objects.get()
    undo = reverse("admin:registry_merge_undo", args=[record.pk])
    listed = editor_client.get(reverse("admin:registry_merge_changelist"))
    assert f'href="{undo}"' in listed.content.decode()
    confirmation = editor_client.get(undo)
    assert confirmation.status_code == 200 and Merge.objects.get().undone is None
    response = editor_client.post(undo)
    assert response.status_code == 302
    assert Municipality.objects.get(pk=koeln_twice.pk).name == "Koeln"
    assert Merge.objects.get().undone is not None


def test_a_merge_between_partners_is_refused_on_the_preview_and_on_post(editor_client):
    koeln, koeln_twice = municipality("Köln"), municipality("Koeln")
    partnership(koeln, koeln_twice)
    response = editor_client.get(merge_url(koeln_twice), {"into": koeln.pk})
    assert list_items(response, "merge-refused") == [
        "“Köln – Koeln” is a partnership between the two: end or delete it before merging."
    ]
    assert "Yes, merge them" not in response.content.decode()
    response = editor_client.post(merge_url(koeln_twice), {"into": koeln.pk})
    assert response.status_code == 302
    assert Municipality.objects.filter(pk=koeln_twice.pk).exists()


CHOICE_REFUSED = "Select a valid choice. That choice is not one of the available choices."


@pytest.mark.parametrize(
    ("into", "message"),
    [
        ("abc", CHOICE_REFUSED),
        ("999999", CHOICE_REFUSED),
        ("1\x00", "Null characters are not allowed."),
    ],
)
def test_a_bad_choice_is_a_400_with_the_form(editor_client, into, message):
    town = municipality("Koeln")
    response = editor_client.get(merge_url(town), {"into": into})
    assert response.status_code == 400
    assert (
        f'<ul class="errorlist" id="id_into_error"><li>{message}</li></ul>'
        in response.content.decode()
    )


def test_reviewers_may_not_merge_make_districts_or_undo(reviewer_client, editor):
    koeln, koeln_twice = world(1)
    record = merge(koeln, municipality("Coeln"), editor)
    for url in (
        merge_url(koeln_twice),
        reverse("admin:registry_municipality_district", args=[koeln_twice.pk]),
        reverse("admin:registry_merge_undo", args=[record.pk]),
    ):
        assert reviewer_client.get(url, {"into": koeln.pk}).status_code == 403
        assert reviewer_client.post(url, {"into": koeln.pk}).status_code == 403
    assert Merge.objects.get().undone is None
    assert koeln_twice.parent is None


def test_the_action_takes_exactly_one_town_to_the_merge_page(editor_client):
    koeln, koeln_twice = world(1)
    changelist = reverse("admin:registry_municipality_changelist")
    response = editor_client.post(
        changelist, {"action": "merge_into_another", "_selected_action": [koeln_twice.pk]}
    )
    assert response["Location"] == merge_url(koeln_twice)
    response = editor_client.post(
        changelist,
        {"action": "merge_into_another", "_selected_action": [koeln.pk, koeln_twice.pk]},
        follow=True,
    )
    assert page_messages(response) == [("error", "Select exactly one municipality for this.")]


def test_making_a_district_in_the_admin(editor_client):
    berlin, neukoelln = municipality("Berlin"), municipality("Neukölln")
    url = reverse("admin:registry_municipality_district", args=[neukoelln.pk])
    before = database_state()
    response = editor_client.get(url, {"into": berlin.pk})
    assert database_state() == before
    assert "Neukölln becomes a district of Berlin; it keeps its partnerships." in (
        response.content.decode()
    )
    assert editor_client.post(url, {"into": berlin.pk}).status_code == 302
    neukoelln.refresh_from_db()
    assert neukoelln.parent == berlin


def test_the_preview_and_the_history_in_german(editor_client):
    koeln, koeln_twice = world(1)
    response = editor_client.get(
        merge_url(koeln_twice), {"into": koeln.pk}, headers={"Accept-Language": "de"}
    )
    assert list_items(response, "merge-preview")[:2] == [
        "0 Partnerschaften gehen an Köln über",
        "1 Partnerschaft doppelt eine von Köln und wird mit ihr zusammengeführt, "
        "beide Quellen bleiben: Koeln – Lille in Köln – Lille",
    ]
    editor_client.post(
        merge_url(koeln_twice), {"into": koeln.pk}, headers={"Accept-Language": "de"}
    )
    assert koeln.history.latest().history_change_reason == "Koeln in Köln zusammengeführt"


def test_the_history_of_the_town_kept_offers_the_undo(editor_client, reviewer, editor):
    koeln, koeln_twice = world(1)
    record = merge(koeln, koeln_twice, editor)
    history = reverse("admin:registry_municipality_history", args=[koeln.pk])
    undo = reverse("admin:registry_merge_undo", args=[record.pk])
    when = formats.date_format(localtime(record.created), "DATETIME_FORMAT")
    assert list_items(editor_client.get(history), "merges-into") == [
        f"Koeln was merged into it on {when}. Undo"
    ]
    assert f'href="{undo}"' in editor_client.get(history).content.decode()
    reviewer_client = Client()
    reviewer_client.force_login(reviewer)
    assert list_items(reviewer_client.get(history), "merges-into") == []
    undo_merge(record, editor)
    assert list_items(editor_client.get(history), "merges-into") == []
