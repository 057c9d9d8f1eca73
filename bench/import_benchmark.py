"""Time ``import_partnerships`` at world scale against ``loaddata`` of the same records.

    .venv/bin/python bench/import_benchmark.py                        # SQLite, 100,000 rows
    .venv/bin/python bench/import_benchmark.py --rows 100000 \\
        --database-url postgres://postgres@127.0.0.1:5432/twinning_bench

The list is deterministic (fixed seed): 100,000 rows name about 190,000 towns in 44 country
spellings real lists use ("England, United Kingdom", "Türkei", "USA"), with a skewed number of
partners (a few hundred hubs, the busiest with hundreds of partners; most towns have one), one
row in thirty-three a reversed duplicate, half the rows with coordinates, every row with a
source. The database is created empty for the run (a PostgreSQL database of that name is
dropped and created again; never point this at real data), migrated, and each step runs as a
separate ``manage.py`` process, the way staff run it, timed from start to exit (Django
start-up included) with its own peak resident memory:

1. ``import_partnerships`` of the list: every row validated, one transaction;
2. ``dumpdata`` of what it wrote (regions, sources, the import run, towns, partnerships);
3. the database emptied and migrated again, and ``loaddata`` of that fixture: the same
   records, saved one object at a time through the model (signals, history, recounts).

``--loaddata-rows N`` loads only the records of the first N partnerships (with their towns),
when all of them would take too long; the table then says so and gives loaddata's measured
rate on the slice, never an extrapolated time for the whole (``0``: no loaddata at all).

``--runs N`` imports N times, each into a database created and migrated afresh, and gives
the median time and the median peak memory (each run's too). ``--towns N`` also times
``import_municipalities`` of a list of N towns without partners that fills every column
(kind, region, coordinates, population, Wikidata and GeoNames ids, source), into an empty
database, as many times:

    .venv/bin/python bench/import_benchmark.py --runs 3 --loaddata-rows 0 --towns 200000 \\
        --database-url postgres://postgres@127.0.0.1:5432/twinning_bench
"""

import argparse
import csv
import itertools
import json
import os
import random
import subprocess  # nosec B404  # runs manage.py with fixed arguments, never a shell
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

from worldgen import fresh_database

ROOT = Path(__file__).resolve().parent.parent

COUNTRIES = [
    "Germany",
    "DE",
    "Deutschland",
    "France",
    "FR",
    "Frankreich",
    "Poland",
    "PL",
    "Italy",
    "Spain",
    "England",
    "Scotland",
    "Wales",
    "England, United Kingdom",
    "Netherlands",
    "Belgium",
    "Austria",
    "Czech Republic",
    "Czechia",
    "Slovakia",
    "Hungary",
    "Romania",
    "Ukraine",
    "Russia",
    "Turkey",
    "Türkei",
    "Japan",
    "China",
    "United States",
    "USA",
    "Brazil",
    "Israel",
    "Finland",
    "Sweden",
    "Norway",
    "Denmark",
    "Republic of Ireland",
    "Georgia (country)",
    "Kosovo",
    "Portugal",
    "Greece",
    "Nicaragua",
    "Tunisia",
    "Bulgaria",
]
KINDS = ["", "", "", "", "official", "friendship", "contact", "project", "adoption"]
STATUSES = ["", "", "", "", "", "active", "suspended", "dormant", "ended"]
HEADER = [
    "municipality_a",
    "country_a",
    "municipality_b",
    "country_b",
    "kind",
    "start",
    "status",
    "lat_a",
    "lon_a",
    "source",
]


def generate(path, rows, seed=1950):
    """Write the list: one row in ten from a hub (chosen with weights 1/rank^1.1), the rest
    between two towns not seen before; one row in thirty-three repeats an earlier pair
    reversed."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible data set, not a secret  # nosec B311
    hubs = [(f"Hub {n:05d}", rng.choice(COUNTRIES)) for n in range(max(rows // 50, 10))]
    weights = list(itertools.accumulate(1 / (rank + 1) ** 1.1 for rank in range(len(hubs))))
    numbers = itertools.count()

    def town():
        return f"Town {next(numbers):07d}", rng.choice(COUNTRIES)

    written, seen = 0, []
    with open(path, "w", newline="", encoding="utf-8") as stream:
        out = csv.writer(stream)
        out.writerow(HEADER)
        while written < rows:
            if seen and rng.random() < 0.03:
                a, b, kind, start = rng.choice(seen)
                a, b = b, a  # a reversed duplicate
            else:
                a = rng.choices(hubs, cum_weights=weights)[0] if rng.random() < 0.1 else town()
                b = town()
                kind = rng.choice(KINDS)
                start = str(rng.randint(1947, 2025)) if rng.random() < 0.8 else ""
                seen.append((a, b, kind, start))
            lat = f"{rng.uniform(-60, 70):.5f}" if rng.random() < 0.5 else ""
            lon = f"{rng.uniform(-170, 170):.5f}" if lat else ""
            status = rng.choice(STATUSES)
            source = f"https://example.org/list/{rng.randint(1, 50)}"
            out.writerow([*a, *b, kind, start, status, lat, lon, source])
            written += 1


TOWN_HEADER = [
    "name",
    "country",
    "kind",
    "region",
    "lat",
    "lon",
    "population",
    "wikidata_id",
    "geonames_id",
    "source",
]


def generate_towns(path, towns, seed=1990):
    """Write a list of ``towns`` towns without partners, every column filled in for most."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible data set, not a secret  # nosec B311
    with open(path, "w", newline="", encoding="utf-8") as stream:
        out = csv.writer(stream)
        out.writerow(TOWN_HEADER)
        for number in range(towns):
            lat = f"{rng.uniform(-60, 70):.5f}" if rng.random() < 0.6 else ""
            out.writerow(
                [
                    f"Village {number:07d}",
                    rng.choice(COUNTRIES),
                    rng.choice(["", "", "city", "municipality", "Gemeinde"]),
                    f"Region {rng.randint(1, 40)}" if rng.random() < 0.8 else "",
                    lat,
                    f"{rng.uniform(-170, 170):.5f}" if lat else "",
                    rng.randint(100, 90_000),
                    f"Q{7_000_000 + number}" if rng.random() < 0.7 else "",
                    8_000_000 + number if rng.random() < 0.7 else "",
                    f"https://example.org/towns/{number % 300}",
                ]
            )


def median(values):
    return sorted(values)[len(values) // 2]


def timed_runs(env, url, runs, *arguments):
    """Run ``manage.py arguments`` ``runs`` times, each in a database created and migrated
    afresh; return (median seconds, median peak MB, every run's (seconds, MB), last stdout)."""
    results = []
    for _ in range(runs):
        fresh_database(url)
        manage(env, "migrate", "-v0")
        results.append(manage(env, *arguments))
    seconds = median([result[0] for result in results])
    memory = median([result[1] for result in results])
    return seconds, memory, [result[:2] for result in results], results[-1][2]


def manage(env, *arguments):
    """Run ``manage.py`` with ``arguments``; return (seconds, peak memory in MB, stdout)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments  # nosec B603
            [sys.executable, str(ROOT / "manage.py"), *arguments], env=env, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(process.pid, 0)  # this process's own peak, not the largest
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode:
            sys.exit(f"manage.py {' '.join(arguments)} failed:\n{err.read()}")
        return seconds, usage.ru_maxrss / 1024, out.read()


def first_partnerships(url, count):
    """The pks of the first ``count`` partnerships and of the towns they name."""
    query = "SELECT id, first_id, second_id FROM registry_partnership ORDER BY id LIMIT %s"
    parts = urlsplit(url)
    if parts.scheme.startswith("postgres"):
        import psycopg

        with psycopg.connect(url) as connection:
            rows = connection.execute(query, [count]).fetchall()
    else:
        import sqlite3

        with closing(sqlite3.connect(parts.path)) as connection:
            rows = connection.execute(query.replace("%s", "?"), [count]).fetchall()
    return [row[0] for row in rows], sorted({pk for row in rows for pk in row[1:]})


def dump(env, url, fixture, partnerships, everything):
    """``dumpdata`` what the import wrote into ``fixture``: all of it, or the records of the
    first ``partnerships`` (every region, source and the import run, the partnerships and
    the towns they name, by ``--pks``). Returns the number of objects."""
    if everything:
        manage(env, "dumpdata", *[f"registry.{model}" for model in DUMPED], "-o", str(fixture))
    else:
        ids, towns = first_partnerships(url, partnerships)
        parts = []
        for labels in (
            ["registry.region", "registry.source", "registry.importrun"],
            ["registry.municipality", "--pks", ",".join(map(str, towns))],
            ["registry.partnership", "--pks", ",".join(map(str, ids))],
        ):
            part = fixture.with_suffix(f".{len(parts)}.json")
            manage(env, "dumpdata", *labels, "-o", str(part))
            parts.extend(json.loads(part.read_text(encoding="utf-8")))
        fixture.write_text(json.dumps(parts), encoding="utf-8")
    return len(json.loads(fixture.read_text(encoding="utf-8")))


DUMPED = ["region", "source", "importrun", "municipality", "partnership"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--loaddata-rows",
        type=int,
        default=None,
        help="load only the records of this many partnerships (default: all of them; 0: none)",
    )
    parser.add_argument("--runs", type=int, default=1, help="imports to take the median of")
    parser.add_argument(
        "--towns", type=int, default=0, help="also import_municipalities of this many towns"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        url = args.database_url or f"sqlite:///{work}/bench.sqlite3"
        engine = "PostgreSQL" if urlsplit(url).scheme.startswith("postgres") else "SQLite"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DEBUG": "0",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "benchmark-only-key"),
        }
        data = Path(work) / "list.csv"
        generate(data, args.rows)
        towns = None
        if args.towns:
            path = Path(work) / "towns.csv"
            generate_towns(path, args.towns)
            say(f"{engine}: import_municipalities of {args.towns:,} towns, {args.runs} run(s) ...")
            towns = timed_runs(env, url, args.runs, "import_municipalities", str(path))
            print(towns[3], end="")
        say(f"{engine}: import_partnerships of {args.rows:,} rows, {args.runs} run(s) ...")
        imported = timed_runs(env, url, args.runs, "import_partnerships", str(data))
        print(imported[3], end="")
        partnerships = int(
            next(
                line.split()[-1]
                for line in imported[3].splitlines()
                if "partnerships created" in line
            )
        )
        loaded = min(
            partnerships if args.loaddata_rows is None else args.loaddata_rows, partnerships
        )
        if loaded:
            fixture = Path(work) / "imported.json"
            say(
                f"{engine}: import {imported[0]:.1f} s, {imported[1]:.0f} MB; dumpdata of "
                f"{loaded:,} partnerships' records ..."
            )
            objects = dump(env, url, fixture, loaded, everything=loaded == partnerships)
            fresh_database(url)
            manage(env, "migrate", "-v0")
            say(f"{engine}: loaddata of {objects:,} objects ({loaded:,} partnerships) ...")
            loaddata = manage(env, "loaddata", str(fixture), "-v0")
    rows_per_second = args.rows / imported[0]
    partnerships_per_second = partnerships / imported[0]
    runs = ", ".join(f"{seconds:.1f} s {memory:.0f} MB" for seconds, memory in imported[2])
    of_runs = f" (median of {args.runs}: {runs})" if args.runs > 1 else ""
    print(
        f"\n| {engine} | records | time | rate | peak memory |\n| --- | --- | --- | --- | --- |\n"
        f"| `import_partnerships` | {args.rows:,} rows: {partnerships:,} partnerships "
        f"| {imported[0]:.1f} s{of_runs} | {rows_per_second:,.0f} rows/s, "
        f"{partnerships_per_second:,.0f} partnerships/s | {imported[1]:.0f} MB |"
    )
    if towns:
        runs = ", ".join(f"{seconds:.1f} s {memory:.0f} MB" for seconds, memory in towns[2])
        of_runs = f" (median of {args.runs}: {runs})" if args.runs > 1 else ""
        print(
            f"| `import_municipalities` | {args.towns:,} towns | {towns[0]:.1f} s{of_runs} "
            f"| {args.towns / towns[0]:,.0f} rows/s | {towns[1]:.0f} MB |"
        )
    if not loaded:
        return
    loaddata_per_second = loaded / loaddata[0]
    whole = "" if loaded == partnerships else f" (first {loaded:,} of {partnerships:,})"
    print(
        f"| `loaddata` of what it wrote{whole} | {objects:,} objects: {loaded:,} partnerships "
        f"| {loaddata[0]:.1f} s | {loaddata_per_second:,.0f} partnerships/s "
        f"| {loaddata[1]:.0f} MB |\n"
        f"\nThe import writes partnerships {partnerships_per_second / loaddata_per_second:.0f}× "
        "as fast as loaddata (whole commands, Django start-up included"
        + (f"; loaddata's rate measured on the first {loaded:,} only)." if whole else ").")
    )


def say(text):
    print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
