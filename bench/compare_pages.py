"""Every public page of the load test's URL mix, from an earlier commit and from the working tree
(or a later commit), compared byte for byte on one database.

    .venv/bin/python bench/compare_pages.py --commit 9618dc9              # SQLite, the record
    .venv/bin/python bench/compare_pages.py --commit 9618dc9 --database-url \\
        postgres://postgres@127.0.0.1:5432

For a refactoring that must not change what anybody sees: the database (a fresh SQLite file,
or the PostgreSQL database ``twinning_loadtest``, dropped and created again, then dropped) is
migrated and loaded with the historical record by the newer code, then two gunicorn servers
with production settings and no cache, one for each version, answer every URL of
``bench/loadtest.py``'s mix in English and German (lists, filters, details, rankings, past
years, downloads), each asked as the same host. Prints how many answers are the same and each
that differs, and exits non-zero if any does.
"""

import argparse
import secrets
import sys
import tempfile
from pathlib import Path

from loadtest import (
    HOST,
    ROOT,
    export,
    free_port,
    get,
    manage,
    postgres_urls,
    prepare,
    public_urls,
    recreate_postgres,
    start_gunicorn,
    stop,
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commit", required=True, help="the earlier version, e.g. 9618dc9")
    parser.add_argument("--against", help="the later version (a commit); default: the working tree")
    parser.add_argument("--database-url", help="PostgreSQL server (default: SQLite)")
    args = parser.parse_args()
    args.workers, args.worker_class, args.threads = 1, "sync", 1
    with tempfile.TemporaryDirectory(prefix="twinning-compare-") as work:
        maintenance = None
        if args.database_url:
            url, maintenance = postgres_urls(args.database_url)
            recreate_postgres(maintenance)
        else:
            url = f"sqlite:///{work}/compare.sqlite3"
        earlier, _label = export(args.commit, Path(work) / "earlier")
        later = ROOT
        if args.against:
            later, _label = export(args.against, Path(work) / "later")
        env = {
            "PATH": str(Path(sys.executable).parent),
            "DATABASE_URL": url,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": HOST,
            "CACHE_BACKEND": "dummy",
            "LOG_LEVEL": "WARNING",
        }
        servers = []
        try:
            data = prepare(later, env, secrets.token_urlsafe(24))
            manage(earlier, env, "collectstatic", "--noinput", "-v0")
            ports = []
            for number, source in enumerate((earlier, later)):
                port = free_port()
                log = Path(work) / f"gunicorn-{number}.log"
                servers.append(start_gunicorn(source, env, port, log, args))
                ports.append(port)
            same, different = 0, []
            for language, path in public_urls(data):
                headers = {"Host": f"{HOST}:{ports[1]}"}
                if language:
                    headers["Accept-Language"] = language
                before, after = (get(port, path, headers) for port in ports)
                if before == after:
                    same += 1
                else:
                    different.append(f"{language or 'en'} {path} ({before[0]} -> {after[0]})")
        finally:
            for server in servers:
                stop(server)
            if maintenance:
                recreate_postgres(maintenance, drop_only=True)
    print(f"{same} answers the same, {len(different)} different")
    for line in different:
        print(f"  differs: {line}")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
