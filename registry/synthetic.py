"""A synthetic world-scale registry, generated deterministically and loaded through the import
path: the data of the benchmark (``bench/worldgen.py`` builds it in a database of its own) and
of the tests that pin query counts at two sizes (``tests/test_scale.py``).

At ``--scale 1`` (the world): 200,000 municipalities, 100,000 partnerships whose degree is
skewed (a few towns with hundreds of partners, most with one), 300,000 events, networks with
hundreds of members, dated changes of kind and status, and partnerships signed in the GDR,
Czechoslovakia, the USSR and Yugoslavia. The same seed and scale always give the same data.

Everything is written as CSV in the public import formats and loaded with the import commands,
as staff would load lists: ``import_partnerships`` (the former states are a second file naming
towns the first created, so the importer finds them in the successor states and keeps the
former state as the country at signing), ``import_municipalities`` for the towns without
partners, ``import_networks`` for the networks and their members, ``import_events`` and
``import_changes`` for the dated changes of kind and status. ``ANALYZE`` (``VACUUM ANALYZE`` on
PostgreSQL) runs at the end, so the planner knows the tables' sizes.
"""

import csv
import io
import math
import random
import time
from pathlib import Path

SEED = 1950

# At scale 1.
MUNICIPALITIES = 200_000
PARTNERSHIPS = 100_000
EVENTS = 300_000
NETWORKS = 40
# Share of the partnerships that go into the second file, signed in a former state.
FORMER_STATE_SHARE = 0.03
# Share of the partnerships with a recorded change of kind, and of status.
KIND_CHANGE_SHARE = 0.04
STATUS_CHANGE_SHARE = 0.04

# ISO code, weight (share of the world's towns), rough centre (lat, lon), and how a list may
# spell the country (the importer reads ISO codes and English or German names).
COUNTRIES = [
    ("DE", 18, (51.0, 10.0), ["DE", "Germany", "Deutschland"]),
    ("FR", 16, (46.5, 2.5), ["FR", "France", "Frankreich"]),
    ("PL", 6, (52.0, 19.0), ["PL", "Poland"]),
    ("IT", 6, (42.5, 12.5), ["IT", "Italy"]),
    ("GB", 5, (53.0, -1.5), ["GB", "England", "Scotland", "Wales"]),
    ("ES", 4, (40.0, -3.5), ["ES", "Spain"]),
    ("NL", 2, (52.2, 5.5), ["NL", "Netherlands"]),
    ("BE", 2, (50.6, 4.6), ["BE", "Belgium"]),
    ("AT", 2, (47.5, 14.5), ["AT", "Austria"]),
    ("CH", 1, (46.8, 8.2), ["CH", "Switzerland"]),
    ("CZ", 3, (49.8, 15.5), ["CZ", "Czechia", "Czech Republic"]),
    ("SK", 1, (48.7, 19.5), ["SK", "Slovakia"]),
    ("HU", 2, (47.2, 19.5), ["HU", "Hungary"]),
    ("RO", 2, (45.9, 25.0), ["RO", "Romania"]),
    ("UA", 3, (49.0, 31.5), ["UA", "Ukraine"]),
    ("RU", 3, (55.7, 37.6), ["RU", "Russia"]),
    ("BY", 1, (53.7, 27.9), ["BY", "Belarus"]),
    ("RS", 1, (44.0, 20.9), ["RS", "Serbia"]),
    ("HR", 1, (45.1, 15.2), ["HR", "Croatia"]),
    ("SI", 1, (46.1, 14.9), ["SI", "Slovenia"]),
    ("TR", 2, (39.0, 35.0), ["TR", "Turkey", "Türkei"]),
    ("JP", 3, (36.0, 138.0), ["JP", "Japan"]),
    ("CN", 3, (35.0, 105.0), ["CN", "China"]),
    ("US", 5, (39.0, -98.0), ["US", "United States", "USA"]),
    ("BR", 1, (-14.0, -51.0), ["BR", "Brazil"]),
    ("IL", 1, (31.5, 34.9), ["IL", "Israel"]),
    ("FI", 1, (62.0, 26.0), ["FI", "Finland"]),
    ("SE", 1, (60.0, 15.0), ["SE", "Sweden"]),
    ("NO", 1, (61.0, 9.0), ["NO", "Norway"]),
    ("DK", 1, (56.0, 10.0), ["DK", "Denmark"]),
    ("IE", 1, (53.2, -8.0), ["IE", "Republic of Ireland"]),
    ("PT", 1, (39.5, -8.0), ["PT", "Portugal"]),
    ("GR", 1, (39.0, 22.0), ["GR", "Greece"]),
    ("BG", 1, (42.7, 25.5), ["BG", "Bulgaria"]),
    ("GE", 1, (42.3, 43.4), ["GE", "Georgia (country)"]),
    ("XK", 1, (42.6, 20.9), ["XK", "Kosovo"]),
    ("NI", 1, (12.9, -85.2), ["NI", "Nicaragua"]),
    ("TN", 1, (34.0, 9.5), ["TN", "Tunisia"]),
]
# A former state as a list names it, and the successors its towns are in today.
FORMER_STATES = [
    ("GDR", ["DE"]),
    ("Czechoslovakia", ["CZ", "SK"]),
    ("USSR", ["RU", "UA", "BY", "GE"]),
    ("Yugoslavia", ["HR", "SI"]),  # Serbia and Kosovo came through CSXX, not directly
]
EVENT_KINDS = [
    ("signing", 30),
    ("visit", 25),
    ("return_visit", 15),
    ("first_contact", 8),
    ("council_resolution", 6),
    ("anniversary", 8),
    ("project", 6),
    ("award", 2),
]
AWARDS = ["european_diploma", "flag_of_honour", "plaque_of_honour", "europe_prize"]
EVENT_COLUMNS = [
    "kind",
    "date",
    "title",
    "partnership",
    "municipality_a",
    "country_a",
    "municipality_b",
    "country_b",
    "partnership_kind",
    "award",
    "country_at_time",
]
# The former states' ISO 3166-3 codes, for an award's country at the time.
FORMER_CODES = [("DDDE", ["DE"]), ("CSHH", ["CZ", "SK"]), ("SUHH", ["RU", "UA", "BY", "GE"])]
KINDS = [("official", 70), ("friendship", 12), ("contact", 6), ("project", 5), ("adoption", 7)]
KIND_SPELLINGS = {"official": ["", "official", "twinning", "Sister city", "Städtepartnerschaft"]}
STATUSES = [("active", 80), ("dormant", 8), ("suspended", 4), ("ended", 8)]
PREFIXES = ["", "", "", "", "", "", "Bad ", "Sankt ", "Nové ", "Saint-", "Nieder-", "Święty "]
CONSONANTS = "bdfghklmnprstvwz"
VOWELS = "aeiou"
SYLLABLES = [c + v for c in CONSONANTS for v in VOWELS]

CSV_COLUMNS = [
    "municipality_a",
    "country_a",
    "municipality_b",
    "country_b",
    "kind",
    "start",
    "end",
    "status",
    "lat_a",
    "lon_a",
    "lat_b",
    "lon_b",
    "source",
]


def town_name(number):
    """A unique name for every number: its digits in base 80 as consonant-vowel syllables
    (two syllables for the first 6,400, then three, four ...), maybe with a prefix. The
    syllables all have two letters, so two numbers never spell the same name."""
    base, length, first = len(SYLLABLES), 2, number
    while first >= base**length:
        first -= base**length
        length += 1
    letters = []
    for _ in range(length):
        first, digit = divmod(first, base)
        letters.append(SYLLABLES[digit])
    core = "".join(reversed(letters)).capitalize()
    return PREFIXES[number % len(PREFIXES)] + core


class World:
    """The generated data set: plain tuples, no Django. ``scale`` 1 is the world."""

    def __init__(self, scale=1.0, seed=SEED):
        self.scale = scale
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible data set, not a secret  # nosec B311
        self.municipalities = max(int(MUNICIPALITIES * scale), 40)
        self.partnerships = max(int(PARTNERSHIPS * scale), 20)
        self.events = max(int(EVENTS * scale), 20)
        self.networks = max(int(NETWORKS * math.sqrt(scale)), 2)
        codes = [code for code, *_ in COUNTRIES]
        weights = [weight for _, weight, *_ in COUNTRIES]
        # Every town: (name, country code); the first ``pool`` are the ones that twin.
        self.towns = [
            (town_name(n), code)
            for n, code in enumerate(self.rng.choices(codes, weights, k=self.municipalities))
        ]
        self.pool = min(int(self.partnerships * 1.2), self.municipalities)
        self.spelling = {code: spellings for code, _, _, spellings in COUNTRIES}
        self.centre = {code: centre for code, _, centre, _ in COUNTRIES}
        self.coordinates = {}
        self.rows, self.former_rows = self._partnerships()

    def _coordinates(self, index):
        if index not in self.coordinates:
            rng = random.Random(index)  # noqa: S311 - stable per town, whatever the order  # nosec B311
            if rng.random() < 0.4:
                self.coordinates[index] = ("", "")
            else:
                lat, lon = self.centre[self.towns[index][1]]
                self.coordinates[index] = (
                    f"{max(-89.0, min(89.0, lat + rng.uniform(-4, 4))):.5f}",
                    f"{max(-179.0, min(179.0, lon + rng.uniform(-6, 6))):.5f}",
                )
        return self.coordinates[index]

    def _partnerships(self):
        """The import rows: (a, b, kind, start, end, status, former state of a or None).

        Side a is drawn with weight 1/(rank + 50) over the twinning towns, so the first few
        have hundreds of partners; side b uniformly, so most towns have one or two.
        """
        rng = self.rng
        pool = range(self.pool)
        weights = [1 / (rank + 50) for rank in pool]
        cumulative = list(_accumulate(weights))
        seen, rows, former_rows = set(), [], []
        wanted_former = int(self.partnerships * FORMER_STATE_SHARE)
        while len(rows) < self.partnerships - wanted_former:
            a = rng.choices(pool, cum_weights=cumulative, k=1)[0]
            row = self._row(a, None, seen)
            if row:
                rows.append(row)
        # Signed in a former state: towns the first file named, so the importer finds them
        # in the successor states rather than creating them in the former state.
        by_country = {}
        for index in sorted({side for row in rows for side in row[:2]}):
            by_country.setdefault(self.towns[index][1], []).append(index)
        former = [
            (name, [i for code in successors for i in by_country.get(code, [])])
            for name, successors in FORMER_STATES
        ]
        former = [(name, towns) for name, towns in former if towns]
        while former and len(former_rows) < wanted_former:
            state, towns = rng.choice(former)
            row = self._row(rng.choice(towns), state, seen)
            if row:
                former_rows.append(row)
        return rows, former_rows

    def _row(self, a, state, seen):
        rng = self.rng
        kinds, kind_weights = zip(*KINDS, strict=True)
        statuses, status_weights = zip(*STATUSES, strict=True)
        b = rng.randrange(self.pool)
        kind = rng.choices(kinds, kind_weights, k=1)[0]
        pair = (min(a, b), max(a, b), kind)
        if a == b or pair in seen:
            return None
        seen.add(pair)
        if state:
            start = str(rng.randint(1950, 1989))
        elif rng.random() < 0.1:
            start = ""
        else:
            start = str(int(rng.triangular(1947, 2026, 1985)))
            if rng.random() < 0.3:
                start += f"-{rng.randint(1, 12):02d}"
        status = rng.choices(statuses, status_weights, k=1)[0]
        end = ""
        if status == "ended" and start and rng.random() < 0.7:
            end = str(rng.randint(int(start[:4]), 2025))
        return (a, b, kind, start, end, status, state)

    def _csv_row(self, row, number):
        a, b, kind, start, end, status, state = row
        rng = random.Random(number)  # noqa: S311 - reproducible, not a secret  # nosec B311
        country_a = state or rng.choice(self.spelling[self.towns[a][1]])
        spelled_kind = rng.choice(KIND_SPELLINGS.get(kind, [kind]))
        lat_a, lon_a = self._coordinates(a)
        lat_b, lon_b = self._coordinates(b)
        return [
            self.towns[a][0],
            country_a,
            self.towns[b][0],
            rng.choice(self.spelling[self.towns[b][1]]),
            spelled_kind,
            start,
            end,
            status if rng.random() < 0.8 or status != "active" else "",
            lat_a,
            lon_a,
            lat_b,
            lon_b,
            f"https://example.org/lists/{number % 97}",
        ]

    def write(self, directory):
        """Write ``partnerships.csv`` and ``former-states.csv`` (import format) into
        ``directory``; return their paths."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, rows, offset in (
            ("partnerships.csv", self.rows, 0),
            ("former-states.csv", self.former_rows, len(self.rows)),
        ):
            path = directory / name
            with open(path, "w", newline="", encoding="utf-8") as stream:
                out = csv.writer(stream)
                out.writerow(CSV_COLUMNS)
                for number, row in enumerate(rows, start=offset):
                    out.writerow(self._csv_row(row, number))
            paths.append(path)
        return paths

    def write_municipalities(self, directory):
        """``municipalities.csv`` (``import_municipalities``): the towns the partnership
        lists do not name, up to the world's number."""
        named = {side for row in (*self.rows, *self.former_rows) for side in row[:2]}
        path = Path(directory) / "municipalities.csv"
        with open(path, "w", newline="", encoding="utf-8") as stream:
            out = csv.writer(stream)
            out.writerow(["name", "country", "lat", "lon", "population"])
            for index, (name, code) in enumerate(self.towns):
                if index in named:
                    continue
                lat, lon = self._coordinates(index)
                population = random.Random(index).randint(200, 60_000)  # noqa: S311 # nosec B311: test data
                out.writerow([name, code, lat, lon, population])
        return path

    def network_name(self, number):
        return f"Network {town_name(number + 500_000)}"

    def write_networks(self, directory):
        """``networks.csv`` (``import_networks``): multilateral networks, one row per member,
        the largest with hundreds of members."""
        rng = random.Random(self.rng.random())  # noqa: S311 - reproducible, not a secret  # nosec B311
        path = Path(directory) / "networks.csv"
        with open(path, "w", newline="", encoding="utf-8") as stream:
            out = csv.writer(stream)
            out.writerow(["network", "municipality", "country", "joined", "start"])
            starts = [rng.randint(1950, 2020) for _ in range(self.networks)]
            for number, start in enumerate(starts):
                name = self.network_name(number)
                size = min(
                    self.municipalities,
                    max(3, int(800 * math.sqrt(self.scale) / (number + 1))),
                )
                for town in rng.sample(range(self.municipalities), size):
                    joined = str(rng.randint(start, 2025)) if rng.random() < 0.7 else ""
                    out.writerow([name, *self.towns[town], joined, start])
        return path

    def write_changes(self, directory):
        """``changes.csv`` (``import_changes``): recorded changes of kind and of status of
        the partnerships with a start, for the rankings of past years."""
        rng = random.Random(self.rng.random())  # noqa: S311 - reproducible, not a secret  # nosec B311
        path = Path(directory) / "changes.csv"
        with open(path, "w", newline="", encoding="utf-8") as stream:
            out = csv.writer(stream)
            out.writerow(
                [
                    "date",
                    "kind",
                    "status",
                    "municipality_a",
                    "country_a",
                    "municipality_b",
                    "country_b",
                    "partnership_kind",
                ]
            )
            for a, b, kind, start, _end, status, _state in (*self.rows, *self.former_rows):
                if not start:
                    continue
                pair = [*self.towns[a], *self.towns[b], kind]
                year = int(start[:4])
                if rng.random() < KIND_CHANGE_SHARE:
                    earlier = rng.choice(["friendship", "contact", "adoption"])
                    out.writerow([str(year), earlier, "", *pair])
                    if year < 2025:
                        out.writerow([str(rng.randint(year + 1, 2025)), kind, "", *pair])
                if rng.random() < STATUS_CHANGE_SHARE and year < 2025:
                    date = str(rng.randint(year + 1, 2025))
                    out.writerow([date, "", rng.choice(["dormant", "suspended", "active"]), *pair])
                    if status != "active":
                        out.writerow([date + "-12", "", status, *pair])
        return path

    def write_events(self, directory):
        """``events.csv`` (``import_events``): events of partnerships (by their two towns and
        kind), of networks (by slug) and of towns; awards among them."""
        from django.utils.text import slugify

        from registry.text import fold

        def network_slug(name):  # as import_networks makes it (the names are all different)
            return slugify(fold(name))

        rng = random.Random(self.rng.random())  # noqa: S311 # nosec B311: seeded test data
        partnerships = [*self.rows, *self.former_rows]
        kinds, weights = zip(*EVENT_KINDS, strict=True)
        path = Path(directory) / "events.csv"
        with open(path, "w", newline="", encoding="utf-8") as stream:
            out = csv.writer(stream)
            out.writerow(EVENT_COLUMNS)
            for number in range(self.events):
                kind = rng.choices(kinds, weights, k=1)[0]
                year = rng.randint(1950, 2025)
                row = dict.fromkeys(EVENT_COLUMNS, "")
                row.update(kind=kind, title=f"{kind.replace('_', ' ').capitalize()} {number}")
                if kind == "award" or rng.random() < 0.08:
                    town = rng.randrange(len(self.towns))
                    row["municipality_a"], row["country_a"] = self.towns[town]
                elif rng.random() < 0.02:
                    kind = row["kind"] = "network_meeting"
                    row["partnership"] = network_slug(
                        self.network_name(rng.randrange(self.networks))
                    )
                else:
                    a, b, partnership_kind, start, *_ = rng.choice(partnerships)
                    row["municipality_a"], row["country_a"] = self.towns[a]
                    row["municipality_b"], row["country_b"] = self.towns[b]
                    row["partnership_kind"] = partnership_kind
                    if start:
                        year = max(year, int(start[:4]))
                date = str(year)
                if rng.random() < 0.5:
                    date += f"-{rng.randint(1, 12):02d}"
                    if rng.random() < 0.5:
                        date += f"-{rng.randint(1, 28):02d}"
                row["date"] = date
                if kind == "award":
                    row["award"] = rng.choice(AWARDS)
                    country = self.towns[town][1]
                    former = [name for name, successors in FORMER_CODES if country in successors]
                    row["country_at_time"] = former[0] if year < 1990 and former else country
                out.writerow(row.values())
        return path


def _accumulate(values):
    total = 0.0
    for value in values:
        total += value
        yield total


# Loading: needs Django set up.


def load(world, directory, *, stdout=None, timings=None):
    """Import the world's files through ``import_partnerships``, ``import_municipalities``,
    ``import_networks``, ``import_events`` and ``import_changes``, and ANALYZE. Returns
    {step: seconds}."""
    from django.core.management import call_command

    timings = {} if timings is None else timings
    stdout = stdout or io.StringIO()
    partnerships, former = world.write(directory)
    # Each file is written when its step comes (in this order: they draw from the world's
    # random numbers in turn).
    steps = [
        ("import_partnerships", lambda: partnerships),
        ("import_partnerships", lambda: former),
        ("import_municipalities", lambda: world.write_municipalities(directory)),
        ("import_networks", lambda: world.write_networks(directory)),
        ("import_events", lambda: world.write_events(directory)),
        ("import_changes", lambda: world.write_changes(directory)),
    ]
    for step, path in steps:
        started = time.perf_counter()
        path = path()
        call_command(step, str(path), stdout=stdout)
        timings[f"{step} {path.name}"] = time.perf_counter() - started
    started = time.perf_counter()
    analyze()
    timings["analyze"] = time.perf_counter() - started
    return timings


def analyze():
    """Fresh planner statistics for every table (ANALYZE on PostgreSQL and SQLite); on
    PostgreSQL ``VACUUM ANALYZE``, which also marks the pages all-visible, as autovacuum does
    soon after a load in production, so that counts can read an index alone."""
    from django.db import connection

    with connection.cursor() as cursor:
        # VACUUM cannot run in a transaction (the suite's generated worlds are in one).
        vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
        cursor.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")
