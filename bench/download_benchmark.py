"""Time one download of the whole partnership list at world scale, and the memory it takes.

    .venv/bin/python bench/worldgen.py --scale 1 --database-url postgres://.../twinning_bench
    .venv/bin/python bench/download_benchmark.py --database-url postgres://.../twinning_bench \
        --format xlsx

Each run is one process: the peak resident memory (``ru_maxrss``) it reports is that of the
download alone, over what the process held after a small download of the same kind. The
database is only read.
"""

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a world built by worldgen.py")
    parser.add_argument("--format", choices=["csv", "xlsx", "json"], default="xlsx")
    parser.add_argument(
        "--url", default="/partnerships/", help="the list to download, with any filters"
    )
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["CACHE_BACKEND"] = "dummy"
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-key")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "twinning.settings")
    import django

    django.setup()
    from django.test import Client

    client = Client(SERVER_NAME="localhost")

    def download(query):
        joiner = "&" if "?" in args.url else "?"
        response = client.get(f"{args.url}{joiner}{query}format={args.format}")
        if response.status_code != 200:
            raise SystemExit(f"{args.url}: status {response.status_code}")
        size = 0
        chunks = response.streaming_content if response.streaming else [response.content]
        for chunk in chunks:
            size += len(chunk)
        response.close()
        return size

    download("q=Stadt+1&")  # a small one first: imports, connection, first queries
    before = peak_mib()
    started = time.perf_counter()
    size = download("")
    seconds = time.perf_counter() - started
    print(
        f"{args.url} format={args.format}: {seconds:.1f} s, {size / 2**20:.1f} MiB file, "
        f"peak memory {peak_mib():.0f} MiB ({peak_mib() - before:+.0f} MiB over "
        f"{before:.0f} MiB after a small download)"
    )


if __name__ == "__main__":
    main()
