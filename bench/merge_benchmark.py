"""Time merging the busiest town into another, and undoing it, at world scale.

    .venv/bin/python bench/worldgen.py --scale 1 --database-url sqlite:////tmp/world.sqlite3
    .venv/bin/python bench/merge_benchmark.py --database-url sqlite:////tmp/world.sqlite3

B is the town with the most partners; A the busiest town of B's country that the merge does
not refuse (no partnership with B). Prints the preview's (``plan_merge``), the merge's and the
undo's times, in process, and checks that every stored count equals a full recount after each.
It merges and undoes in the database named: never point it at real data.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("SECRET_KEY", "benchmark-only-key")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "twinning.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from registry.merging import merge, plan_merge, undo_merge
    from registry.models import Municipality

    call_command("migrate", verbosity=0)
    b = Municipality.objects.order_by("-partner_count", "pk").first()
    candidates = Municipality.objects.filter(country=b.country).exclude(pk=b.pk)
    for a in candidates.order_by("-partner_count", "pk")[:50]:
        if not plan_merge(a, b).refused:
            break
    print(f"merge {b} ({b.partner_count} partners) into {a} ({a.partner_count} partners)")

    def recount_matches():
        stored = dict(Municipality.objects.values_list("pk", "partner_count"))
        Municipality.objects.recount_partners()
        return stored == dict(Municipality.objects.values_list("pk", "partner_count"))

    timings = {}
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        plan = plan_merge(a, b)
        timings["preview"] = (time.perf_counter() - started, len(queries))
    print({key: value for key, value in plan.counts().items() if value})
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        record = merge(a, b, None)
        timings["merge"] = (time.perf_counter() - started, len(queries))
    timings["counts equal a recount after the merge"] = recount_matches()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        undo_merge(record, None)
        timings["undo"] = (time.perf_counter() - started, len(queries))
    timings["counts equal a recount after the undo"] = recount_matches()
    for step, value in timings.items():
        if isinstance(value, tuple):
            print(f"{step}: {value[0]:.3f} s, {value[1]} queries")
        else:
            print(f"{step}: {value}")


if __name__ == "__main__":
    main()
