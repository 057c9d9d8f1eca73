"""Build the benchmark's world-scale registry (``registry.synthetic``) in a database of its own.

    .venv/bin/python bench/worldgen.py --scale 1 --database-url postgres://.../twinning_bench
    .venv/bin/python bench/worldgen.py --scale 0.01 --database-url sqlite:///bench/.data/s.sqlite3

The database named by ``--database-url`` is emptied and migrated first: never point this at
real data.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from registry.synthetic import SEED, World, analyze, load  # noqa: E402 - after the path

__all__ = ["analyze", "fresh_database"]


def fresh_database(url):
    """Drop and create the PostgreSQL database, or delete the SQLite file, of ``url``."""
    parts = urlsplit(url)
    if parts.scheme.startswith("postgres"):
        import psycopg

        name = parts.path.lstrip("/")
        admin = parts._replace(path="/postgres").geturl()
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
    elif parts.scheme == "sqlite":
        path = Path(parts.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 is the world (default)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--database-url", required=True, help="emptied and migrated first")
    parser.add_argument(
        "--directory", default=str(ROOT / "bench" / ".data"), help="where the CSV files go"
    )
    args = parser.parse_args()
    fresh_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("SECRET_KEY", "benchmark-only-key")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "twinning.settings")
    import django
    from django.core.management import call_command

    django.setup()
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    timings = {"migrate": time.perf_counter() - started}
    started = time.perf_counter()
    world = World(args.scale, args.seed)
    timings["generate"] = time.perf_counter() - started
    load(world, Path(args.directory) / f"world-{args.scale:g}", stdout=sys.stdout, timings=timings)
    for step, seconds in timings.items():
        print(f"{step}: {seconds:.1f} s")
    from registry.models import Event, Membership, Municipality, Partnership

    print(
        f"{Municipality.objects.count():,} municipalities, "
        f"{Partnership.objects.bilateral().count():,} partnerships, "
        f"{Partnership.objects.networks().count():,} networks with "
        f"{Membership.objects.count():,} members, {Event.objects.count():,} events"
    )


if __name__ == "__main__":
    main()
