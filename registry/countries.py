"""Read a country as real partnership lists write it: a code, an English or German name.

"DE", "DEU", "Germany", "Deutschland" are all Germany; "England", "Scotland", "Wales" and
"England, United Kingdom" are the United Kingdom; "Georgia (country)" is Georgia; the former
states are found by their ISO 3166-3 codes and by the names people use ("GDR", "DDR",
"Soviet Union", "Czechoslovakia").
"""

import re

import pycountry

from registry.models import Country
from registry.text import fold

# Spellings in real lists that neither ISO nor pycountry's translations give, by country code.
ALIASES = {
    "GB": [
        "England",
        "Scotland",
        "Wales",
        "Northern Ireland",
        "Great Britain",
        "Britain",
        "UK",
        "U.K.",
        "Großbritannien",
        "England, United Kingdom",
        "Schottland",
        "Nordirland",
    ],
    "IE": ["Republic of Ireland", "Ireland", "Irland", "Eire"],
    "TR": ["Turkey", "Türkei", "Turkiye", "Republic of Türkiye"],
    "CZ": ["Czech Republic", "Czechia", "Tschechische Republik", "Tschechien"],
    "SK": ["Slovak Republic", "Slowakei"],
    "RU": ["Russia", "Russland"],
    "US": ["USA", "U.S.A.", "United States", "United States of America", "Vereinigte Staaten"],
    "NL": ["The Netherlands", "Holland"],
    "KR": ["Korea", "Republic of Korea", "Südkorea"],
    "KP": ["Nordkorea"],
    "PS": ["Palestine", "Palästina", "Palestinian Territories"],
    "VA": ["Vatican", "Vatican City"],
    "MK": ["Macedonia", "Republic of Macedonia", "Mazedonien", "Nordmazedonien"],
    "MD": ["Moldova", "Moldau", "Moldawien"],
    "CI": ["Ivory Coast", "Elfenbeinküste"],
    "CV": ["Cape Verde", "Kap Verde"],
    "SZ": ["Swaziland"],
    "MM": ["Burma"],
    "CD": ["DR Congo", "Democratic Republic of the Congo", "Congo-Kinshasa"],
    "CG": ["Republic of the Congo", "Congo-Brazzaville"],
    "XK": ["Kosovo", "Republic of Kosovo"],
    "DE": ["West Germany", "Federal Republic of Germany", "BRD", "Westdeutschland"],
    "DDDE": ["GDR", "DDR", "East Germany", "German Democratic Republic", "Ostdeutschland"],
    "SUHH": ["USSR", "Soviet Union", "Sowjetunion", "UdSSR", "U.S.S.R."],
    "CSHH": ["Czechoslovakia", "Tschechoslowakei", "ČSSR", "CSSR"],
    "YUCS": ["Yugoslavia", "Jugoslawien", "SFR Yugoslavia"],
    "CSXX": ["Serbia and Montenegro", "Serbien und Montenegro"],
}

_QUALIFIER = re.compile(r"\s*\((?:country|state|nation|land|staat)\)\s*$", re.IGNORECASE)


class CountryResolver:
    """Resolves country spellings to :class:`Country` rows with one query."""

    def __init__(self, countries=None):
        countries = list(
            countries if countries is not None else Country.objects.prefetch_related("successors")
        )
        countries.sort(key=lambda country: country.ended is not None)  # current states first
        self.by_code = {country.code: country for country in countries}
        self._names = {}
        for country in countries:
            for spelling in (country.code, country.alpha3, country.name_en, country.name_de):
                self._add(spelling, country)
        for country in pycountry.countries:
            known = self.by_code.get(country.alpha_2)
            if known is not None:
                for attribute in ("name", "official_name", "common_name"):
                    self._add(getattr(country, attribute, ""), known)
        for country in pycountry.historic_countries:
            known = self.by_code.get(country.alpha_4)
            if known is not None:
                self._add(country.name, known)
        for code, spellings in ALIASES.items():
            if code in self.by_code:
                for spelling in spellings:
                    self._names[fold(spelling)] = self.by_code[code]

    def today(self, country):
        """The current states a country is now part of: itself, or its successors' heirs."""
        if not country.historical:
            return [country]
        found, queue, seen = [], list(country.successors.all()), {country.pk}
        while queue:
            successor = queue.pop(0)
            if successor.pk in seen:
                continue
            seen.add(successor.pk)
            if successor.historical:
                queue.extend(successor.successors.all())
            else:
                found.append(successor)
        return found

    def _add(self, spelling, country):
        key = fold(spelling or "")
        if key:
            # Current states win over former ones that shared a code (CS, YU).
            self._names.setdefault(key, country)

    def resolve(self, text):
        """The country ``text`` names, or None."""
        key = fold(_QUALIFIER.sub("", text or ""))
        if not key:
            return None
        found = self._names.get(key)
        if found is not None:
            return found
        # "England, United Kingdom": the most specific part that is a country.
        parts = [part.strip() for part in key.split(",") if part.strip()]
        if len(parts) > 1:
            for part in parts:
                found = self._names.get(part)
                if found is not None:
                    return found
        return None
