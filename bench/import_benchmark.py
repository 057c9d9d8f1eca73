"""Time ``import_partnerships`` on a generated list of real-world size.

    .venv/bin/python bench/import_benchmark.py                        # SQLite, 25,000 rows
    .venv/bin/python bench/import_benchmark.py --rows 50000 \\
        --database-url postgres://postgres@127.0.0.1:5432/twinning_bench

The list is deterministic (fixed seed): towns in 40 countries written in the spellings real
lists use, a skewed number of partners per town (a few with hundreds, most with one), one row
in twenty a reversed duplicate. The database is created empty for the run (a PostgreSQL
database of that name is dropped and created again; never point this at real data), migrated,
and the import is timed as a separate process, the way staff run it.
"""

import argparse
import csv
import os
import random
import resource
import subprocess  # nosec B404  # runs manage.py with fixed arguments, never a shell
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

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


def generate(path, rows, seed=1950):
    rng = random.Random(seed)  # noqa: S311 - a reproducible data set, not a secret  # nosec B311
    towns = [(f"Town {n:06d}", rng.choice(COUNTRIES)) for n in range(rows)]
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(towns))]
    written, seen = 0, []
    with open(path, "w", newline="", encoding="utf-8") as stream:
        out = csv.writer(stream)
        out.writerow(
            [
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
        )
        while written < rows:
            if seen and rng.random() < 0.05:
                a, b, kind, start = rng.choice(seen)
                a, b = b, a  # a reversed duplicate
            else:
                a = rng.choices(towns, weights, k=1)[0]
                b = rng.choice(towns)
                if a == b:
                    continue
                kind = rng.choice(KINDS)
                start = str(rng.randint(1947, 2025)) if rng.random() < 0.8 else ""
                seen.append((a, b, kind, start))
            lat = f"{rng.uniform(-60, 70):.5f}" if rng.random() < 0.5 else ""
            lon = f"{rng.uniform(-170, 170):.5f}" if lat else ""
            out.writerow(
                [
                    a[0],
                    a[1],
                    b[0],
                    b[1],
                    kind,
                    start,
                    rng.choice(STATUSES),
                    lat,
                    lon,
                    f"https://example.org/list/{rng.randint(1, 50)}",
                ]
            )
            written += 1


def fresh_database(url):
    parts = urlsplit(url)
    if parts.scheme.startswith("postgres"):
        import psycopg

        name = parts.path.lstrip("/")
        admin = parts._replace(path="/postgres").geturl()
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            connection.execute(f'CREATE DATABASE "{name}"')
    elif parts.scheme == "sqlite":
        Path(parts.path).unlink(missing_ok=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=25_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        url = args.database_url or f"sqlite:///{work}/bench.sqlite3"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DEBUG": "0",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "benchmark-only-key"),
        }
        data = Path(work) / "list.csv"
        generate(data, args.rows)
        fresh_database(url)
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)  # noqa: S603 - our interpreter, fixed arguments  # nosec B603
        started = time.perf_counter()
        result = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments  # nosec B603
            [*manage, "import_partnerships", str(data)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(result.stdout, end="")
        engine = urlsplit(url).scheme
        print(
            f"{engine}: {args.rows} rows in {seconds:.1f} s = {args.rows / seconds:,.0f} rows/s, "
            f"peak memory {peak:.0f} MB (whole command, Django start-up included)"
        )


if __name__ == "__main__":
    main()
