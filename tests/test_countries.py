"""Countries come from pycountry: current states, former states and their successors."""

import pytest
from django.utils import translation

from registry.models import Country

pytestmark = pytest.mark.django_db


def successors(code):
    return sorted(Country.objects.get(code=code).successors.values_list("code", flat=True))


def test_current_states_with_english_and_german_names():
    names = {
        code: (c.name_en, c.name_de)
        for code in ["DE", "GB", "CZ", "TR", "XK"]
        for c in [Country.objects.get(code=code)]
    }
    assert names == {
        "DE": ("Germany", "Deutschland"),
        "GB": ("United Kingdom", "Vereinigtes Königreich"),
        "CZ": ("Czechia", "Tschechien"),
        "TR": ("Türkiye", "Türkei"),
        "XK": ("Kosovo", "Kosovo"),
    }


def test_name_follows_the_active_language():
    ddr = Country.objects.get(code="DDDE")
    with translation.override("de"):
        german = str(ddr)
    with translation.override("en"):
        english = str(ddr)
    assert (english, german) == ("German Democratic Republic", "Deutsche Demokratische Republik")


def test_former_states_with_their_end_and_successors():
    former = {
        c.code: (c.name_en, c.ended)
        for c in Country.objects.historical().filter(code__in=["CSHH", "DDDE", "SUHH", "YUCS"])
    }
    assert former == {
        "CSHH": ("Czechoslovakia", "1993-06-15"),
        "DDDE": ("German Democratic Republic", "1990-10-30"),
        "SUHH": ("USSR", "1992-08-30"),
        "YUCS": ("Yugoslavia", "2003-07-23"),
    }
    assert successors("CSHH") == ["CZ", "SK"]
    assert successors("DDDE") == ["DE"]
    assert successors("YUCS") == ["BA", "CSXX", "HR", "MK", "SI"]
    assert successors("CSXX") == ["ME", "RS", "XK"]  # Kosovo: migration 0012
    assert "RU" in successors("SUHH") and "UA" in successors("SUHH")
    assert len(successors("SUHH")) == 15
    # Read from ISO 3166-3's own comment: "divided into FM, MH, MP, and PW".
    assert successors("PCHH") == ["FM", "MH", "MP", "PW"]


def test_every_current_state_and_no_former_state_is_current():
    assert Country.objects.current().count() == 250  # 249 of ISO 3166-1, and Kosovo
    assert not Country.objects.current().filter(code__in=["CSHH", "DDDE", "SUHH"]).exists()
