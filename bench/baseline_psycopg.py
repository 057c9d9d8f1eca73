"""Baseline of the benchmark: the ranking's SQL served by a minimal WSGI app, no Django.

    DATABASE_URL=postgres://... BASELINE_SQL=ranking.sql gunicorn bench.baseline_psycopg:application

Each request runs the statements the ranking page runs (``BASELINE_SQL``: a file of them, one
per line, as the benchmark captured them from the page, uncached), on one persistent
connection per worker (psycopg 3; for SQLite the standard library's sqlite3), and writes the
last statement's rows as a bare HTML table. Without ``BASELINE_SQL`` it runs :data:`RANKING`.
This is the floor: what the same SQL costs with nothing else around it.
"""

import os
from html import escape
from pathlib import Path
from urllib.parse import unquote, urlsplit

RANKING = (
    "SELECT m.name, m.slug, c.name_en, m.partner_count, "
    "DENSE_RANK() OVER (ORDER BY m.partner_count DESC) "
    "FROM registry_municipality m JOIN registry_country c ON c.id = m.country_id "
    "WHERE m.partner_count > 0 ORDER BY m.partner_count DESC, m.name LIMIT 50"
)

_connection = None


def statements():
    path = os.environ.get("BASELINE_SQL")
    if not path:
        return [RANKING]
    return [line for line in Path(path).read_text().splitlines() if line.strip()]


STATEMENTS = statements()


def connect():
    url = urlsplit(os.environ["DATABASE_URL"])
    if url.scheme.startswith("postgres"):
        import psycopg

        return psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    import sqlite3

    return sqlite3.connect(unquote(url.path), check_same_thread=False)


def application(environ, start_response):
    global _connection  # noqa: PLW0603 - one connection per worker process
    if _connection is None:
        _connection = connect()
    cursor = _connection.cursor()
    rows = []
    for statement in STATEMENTS:
        cursor.execute(statement)
        rows = cursor.fetchall()
    cells = "".join(
        "<tr>" + "".join(f"<td>{escape(str(value))}</td>" for value in row) + "</tr>"
        for row in rows
    )
    body = f"<!doctype html><html lang=en><title>Ranking</title><table>{cells}</table>".encode()
    start_response(
        "200 OK",
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]
