"""Hold the public site under load while an editor saves partnerships in the admin.

    .venv/bin/python bench/loadtest.py                          # SQLite, 60 s, 32 clients
    .venv/bin/python bench/loadtest.py --database-url postgres://postgres@127.0.0.1:5432
    .venv/bin/python bench/loadtest.py --commit HEAD   # the last commit, not the working tree

The run prepares a database of its own (a fresh SQLite file in a temporary directory, or the
PostgreSQL database ``twinning_loadtest``, dropped and created again, then dropped at the end),
migrates it, loads the historical record and makes an editor (staff, group Editors). It starts
gunicorn with production settings (DEBUG off, a throwaway secret key, ALLOWED_HOSTS=127.0.0.1,
secure cookies off because this is plain HTTP on 127.0.0.1 only) and, for ``--duration``
seconds, drives ``--clients`` concurrent connections with wrk over every public page: home,
lists with filters, search, sort and pages, details, rankings (also of past years), country
rankings, awards, statistics, CSV and JSON downloads, in English and German. Meanwhile the
editor logs in to the admin and saves partnerships through their change form, again and again,
each save checked by its redirect and its success message, and at the end by the history.

The URL mix holds query strings that a filter reads otherwise than they look (a parameter
repeated, or repeated empty: ``?on=1970&on=`` is today's ranking), each beside its plain page.
After the run, with the editor stopped, every URL is requested twice in the list's order, and
each answer of the second round is compared byte for byte with a fresh one from a second
gunicorn on the same database that caches nothing: a page stored under another query string's
key shows as a difference.

It prints requests served, requests per second, errors (non-2xx/3xx answers and socket errors,
timeouts included), p50/p99 latency, the editor's saves and the answers that differ from the
fresh ones, and exits non-zero on any error.
gunicorn is stopped and the database dropped whatever happens. wrk comes from Debian; when it
is missing the script installs it with apt-get if run as root, or says how.

gunicorn runs 2 sync workers by default, one per core of the machine it was written on: the
pages are CPU-bound Python, so threads (``--worker-class gthread --threads N``) only overlap
the short waits on the database, and more processes than cores only take turns.
"""

import argparse
import http.client
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess  # nosec B404  # manage.py, gunicorn, wrk, apt-get; never a shell
import sys
import tarfile
import tempfile
import threading
import time
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "loadtest.lua"
HOST = "127.0.0.1"
PG_DATABASE = "twinning_loadtest"
EDITOR = "loadtest-editor"
MARKER = re.compile(r"\s*\[load test save \d+\]$")
STARTUP_SECONDS = 60

# Run inside `manage.py shell`: make the editor and pick the records the URLs name.
SETUP_CODE = """
import json, os
from django.contrib.auth.models import Group, User
from registry.models import Country, Event, Municipality, Partnership, Region, Theme

editor = User.objects.create_user(
    os.environ["LOADTEST_EDITOR"], password=os.environ["LOADTEST_PASSWORD"], is_staff=True
)
editor.groups.add(Group.objects.get(name="Editors"))
ranked = Municipality.objects.order_by("-partner_count", "slug")
bilateral = Partnership.objects.bilateral().order_by("pk")
print("LOADTEST " + json.dumps({
    "municipalities": Municipality.objects.count(),
    "partnerships": bilateral.count(),
    "top": list(ranked.values_list("slug", flat=True)[:15]),
    "others": list(Municipality.objects.order_by("pk").values_list("slug", flat=True)[::25]),
    "partnership_ids": list(bilateral.values_list("pk", flat=True)),
    "networks": list(Partnership.objects.networks().values_list("slug", flat=True)),
    "countries": list(dict.fromkeys(
        ranked.filter(partner_count__gt=0).values_list("country__code", flat=True)
    ))[:6],
    "regions": list(
        Region.objects.exclude(code="").filter(municipalities__isnull=False)
        .order_by("code").values_list("code", flat=True).distinct()[:3]
    ),
    "themes": list(Theme.objects.order_by("slug").values_list("slug", flat=True)[:3]),
    "awards": sorted(set(Event.objects.awards().values_list("award", flat=True))),
}))
"""


# Preparing


def ensure_wrk():
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("wrk is missing: install Debian's package first (sudo apt-get install -y wrk).")
    apt_get = shutil.which("apt-get") or sys.exit("wrk is missing, and there is no apt-get.")
    print("wrk is missing: installing Debian's package wrk with apt-get (running as root) ...")
    install = [apt_get, "install", "-y", "-q", "wrk"]
    # Fixed argument lists, no shell, throughout this script:
    if subprocess.run(install, stdout=subprocess.DEVNULL).returncode != 0:  # noqa: S603  # nosec B603
        subprocess.run([apt_get, "update", "-q"], check=True)  # noqa: S603  # nosec B603
        subprocess.run(install, check=True, stdout=subprocess.DEVNULL)  # noqa: S603  # nosec B603
    return shutil.which("wrk") or sys.exit("apt-get installed wrk, but it is not on PATH.")


def export(commit, target):
    """A clean copy of the commit's files, with the working tree's compiled translations."""
    git = shutil.which("git") or sys.exit("--commit needs git.")
    target.mkdir()
    archive = subprocess.run(  # noqa: S603  # nosec B603
        [git, "-C", str(ROOT), "archive", "--format=tar", commit],
        check=True,
        capture_output=True,
    ).stdout
    tarfile.open(fileobj=io.BytesIO(archive)).extractall(target, filter="data")
    for compiled in ROOT.glob("locale/*/LC_MESSAGES/*.mo"):
        shutil.copy(compiled, target / compiled.relative_to(ROOT))
    revision = subprocess.run(  # noqa: S603  # nosec B603
        [git, "-C", str(ROOT), "rev-parse", "--short", commit],
        check=True,
        capture_output=True,
        text=True,
    )
    revision = revision.stdout.strip()
    print(f"Testing commit {revision}, exported to {target}")
    return target, f"commit {revision}"


def postgres_urls(url):
    """The URL of the load test's own database and of the server's maintenance database."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or PG_DATABASE
    if name != PG_DATABASE:
        sys.exit(
            f"The load test creates and drops its own database {PG_DATABASE}; give the server "
            f"only (postgres://user@host:5432) or that database, not {name!r}."
        )
    own = parts._replace(path=f"/{PG_DATABASE}").geturl()
    return own, parts._replace(path="/postgres").geturl()


def recreate_postgres(maintenance, drop_only=False):
    import psycopg

    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        if not drop_only:
            connection.execute(f'CREATE DATABASE "{PG_DATABASE}"')


def manage(source, env, *args, capture=False):
    command = [sys.executable, str(source / "manage.py"), *args]
    result = subprocess.run(  # noqa: S603  # nosec B603
        command, env=env, cwd=source, check=False, capture_output=capture, text=True
    )
    if result.returncode != 0:
        if capture:
            print(result.stdout, result.stderr, sep="\n", file=sys.stderr)
        raise SystemExit(f"manage.py {' '.join(args[:1])} failed ({result.returncode}).")
    return result.stdout if capture else None


def prepare(source, env, password):
    print("Migrating, loading the record, collecting static files ...")
    manage(source, env, "migrate", "-v0")
    if (source / "registry/management/commands/load_record.py").exists():
        manage(source, env, "load_record", "-v0")
    else:  # a commit from before the command: the record's files in its order
        manage(source, env, "loaddata", "sources", "places", "partnerships", "events", "-v0")
    manage(source, env, "collectstatic", "--noinput", "-v0")
    output = manage(
        source,
        {**env, "LOADTEST_EDITOR": EDITOR, "LOADTEST_PASSWORD": password},
        "shell",
        "-v0",
        "-c",
        SETUP_CODE,
        capture=True,
    )
    line = next(line for line in output.splitlines() if line.startswith("LOADTEST "))
    return json.loads(line.removeprefix("LOADTEST "))


def public_urls(data):
    """(Accept-Language, path) of every public page the clients request, in a fixed order."""
    top, others = data["top"], data["others"]
    countries = data["countries"] or ["DE"]
    pair = "-".join(countries[:2]) if len(countries) > 1 else "DE-FR"
    urls = [
        # Query strings that a filter reads otherwise than they look, first, each before its
        # plain page: a part of a page cached under the wrong query shows in the plain page.
        "/rankings/?on=1970&on=",
        f"/rankings/?country={countries[0]}&country=",
        f"/municipalities/?country={countries[0]}&country=",
        "/partnerships/?kind=adoption&kind=official",
        f"/partnerships/?country={countries[-1]}&country={countries[0]}",
        "/rankings/?kind=any&kind=official&status=any",
        f"/rankings/?country={countries[0]}",
        f"/municipalities/?country={countries[0]}",
        "/partnerships/?kind=adoption",
        "/rankings/?kind=any&status=any",
        "/",
        "/municipalities/",
        f"/municipalities/?q={top[0][:4]}",
        "/municipalities/?q=koeln",
        f"/municipalities/?country={countries[0]}&sort=-partners",
        "/municipalities/?has_partners=yes&sort=country",
        "/municipalities/?seeking=no&kind=city&sort=-name",
        "/municipalities/?format=csv",
        "/municipalities/?format=json&sort=-partners",
        "/partnerships/",
        "/partnerships/?sort=-start",
        "/partnerships/?sort=name",
        "/partnerships/?kind=official&status=active",
        f"/partnerships/?country={countries[-1]}",
        f"/partnerships/?country_pair={pair}",
        "/partnerships/?founded_from=1950&founded_to=1970",
        f"/partnerships/?municipality={top[0]}",
        f"/partnerships/?q={top[1][:5]}",
        f"/partnerships/?at_signing={countries[0]}&sort=-name",
        "/partnerships/?format=csv",
        "/partnerships/?format=json&kind=friendship",
        "/networks/",
        "/networks/?sort=-members",
        "/networks/?format=csv",
        "/rankings/",
        "/rankings/?on=1970",
        "/rankings/?on=1960",
        "/rankings/?on=2021-12-31",
        "/rankings/?domestic=exclude",
        "/rankings/?domestic=only&on=1990",
        "/rankings/?format=csv",
        "/rankings/?format=json&on=1980",
        "/rankings/countries/",
        "/rankings/countries/?table=pairs",
        "/rankings/countries/?format=csv&table=pairs",
        "/rankings/countries/?format=json",
        "/awards/",
        "/awards/?sort=-date",
        "/awards/?format=csv",
        "/statistics/",
    ]
    if data["municipalities"] > 50:
        urls += ["/municipalities/?page=2", "/rankings/?page=2"]
    if data["partnerships"] > 50:
        urls.append("/partnerships/?page=2")
    urls += [f"/municipalities/?region={code}" for code in data["regions"]]
    urls += [f"/partnerships/?theme={slug}" for slug in data["themes"]]
    urls += [f"/awards/?level={level}" for level in data["awards"]]
    urls += [f"/municipalities/{slug}/" for slug in top + others]
    ids = data["partnership_ids"]
    urls += [f"/partnerships/{pk}/" for pk in ids[:: max(1, len(ids) // 25)]]
    urls += [f"/partnerships/{pk}/?format=json" for pk in ids[:: max(1, len(ids) // 5)]]
    urls += [f"/networks/{slug}/" for slug in data["networks"]]
    requests = [("", url) for url in urls]
    # The same pages in German, as a browser asking for German gets them.
    requests += [("de", url) for url in urls[::4]]
    return requests


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# HTTP


def get(port, path, headers=None, timeout=30):
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_until_up(port, process):
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited at start ({process.returncode}); see its log.")
        try:
            status, _body = get(port, "/", timeout=5)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"gunicorn did not answer within {STARTUP_SECONDS} s.")


def check_urls(port, requests):
    """Request every URL once, one after another: each must answer 200, or the list itself is
    wrong. Returns the wrong ones and the time of each, slowest first."""
    wrong, timings = [], []
    for language, path in requests:
        headers = {"Accept-Language": language} if language else {}
        started = time.perf_counter()
        status, _body = get(port, path, headers)
        timings.append((time.perf_counter() - started, f"{language or 'en'} {path}"))
        if status != 200:
            wrong.append(f"{status} {language or 'en'} {path}")
    return wrong, sorted(timings, reverse=True)


def compare_with_fresh(port, fresh_port, requests):
    """Each URL's answer from the site, cached as it runs, against a fresh one from the
    server that caches nothing: the URLs whose answers differ. Every URL is requested once
    first, in the list's order, so that what one URL leaves in the cache is there when a
    later one is compared."""
    for language, path in requests:
        get(port, path, {"Accept-Language": language} if language else {})
    different = []
    for language, path in requests:
        headers = {"Accept-Language": language} if language else {}
        # Downloads name the site's address: the fresh server is asked as the same host.
        cached = get(port, path, headers)
        fresh = get(fresh_port, path, {**headers, "Host": f"{HOST}:{port}"})
        if cached != fresh:
            different.append(f"{language or 'en'} {path} ({cached[0]}, fresh {fresh[0]})")
    return different


def start_gunicorn(source, env, port, log, args, workers=None):
    with open(log, "w") as stream:
        process = subprocess.Popen(  # noqa: S603  # nosec B603
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "twinning.wsgi",
                f"--bind={HOST}:{port}",
                f"--workers={workers or args.workers}",
                f"--worker-class={args.worker_class}",
                f"--threads={args.threads}",
                "--timeout=60",
                "--backlog=2048",
            ],
            cwd=source,
            env=env,
            stdout=stream,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_up(port, process)
    except BaseException:
        stop(process)
        raise
    return process


def stop(process):
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def static_paths(port):
    """The stylesheets and scripts the home page links to, when the app serves them."""
    _status, body = get(port, "/")
    paths = re.findall(r'(?:href|src)="(/static/[^"]+)"', body.decode())
    return [("", path) for path in dict.fromkeys(paths) if get(port, path)[0] == 200]


# The editor


class FormParser(HTMLParser):
    """The fields a browser would submit from the form with the given id."""

    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields = []
        self.select = None
        self.textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
            return
        if not self.inside or "disabled" in attrs:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields.append((name, attrs.get("value") or ("on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self.select = {"name": name, "multiple": "multiple" in attrs, "options": []}
        elif tag == "option" and self.select is not None:
            self.select["options"].append((attrs.get("value", ""), "selected" in attrs))
        elif tag == "textarea" and name:
            self.textarea = [name, ""]

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select is not None:
            options = self.select["options"]
            chosen = [value for value, selected in options if selected]
            if not chosen and options and not self.select["multiple"]:
                chosen = [options[0][0]]
            self.fields += [(self.select["name"], value) for value in chosen]
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            name, value = self.textarea
            # A browser drops the newline that follows <textarea>, and so does Django.
            self.fields.append((name, value.removeprefix("\r\n").removeprefix("\n")))
            self.textarea = None


class Editor:
    """A member of staff saving partnerships through the admin's change form."""

    def __init__(self, port, password, partnership_ids):
        self.port = port
        self.password = password
        self.ids = partnership_ids
        self.cookies = {}
        self.saves = 0
        self.failures = []
        self.seconds = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="editor", daemon=True)

    def request(self, method, path, fields=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if fields is not None:
            body = urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"http://{HOST}:{self.port}"
            headers["Referer"] = f"http://{HOST}:{self.port}{path}"
        connection = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, response.getheader("Location", ""), response.read().decode()
        finally:
            connection.close()

    def form(self, path, form_id):
        status, _location, html = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
        parser = FormParser(form_id)
        parser.feed(html)
        return parser.fields

    def login(self):
        fields = self.form("/admin/login/?next=/admin/", "login-form")
        fields = [(k, v) for k, v in fields if k not in ("username", "password")]
        fields += [("username", EDITOR), ("password", self.password)]
        status, location, _html = self.request("POST", "/admin/login/?next=/admin/", fields)
        if status != 302 or location != "/admin/":
            raise RuntimeError(f"login answered {status} {location!r}, not a redirect to /admin/")

    def save(self, number):
        pk = self.ids[number % len(self.ids)]
        change = f"/admin/registry/partnership/{pk}/change/"
        fields = self.form(change, "partnership_form")
        if not any(name == "csrfmiddlewaretoken" for name, _value in fields):
            raise RuntimeError(f"{change} has no form with a CSRF token")
        if not any(name == "description" for name, _value in fields):
            raise RuntimeError(f"{change} has no description field")
        edited = []
        for name, value in fields:
            if name == "description":
                value = f"{MARKER.sub('', value)} [load test save {number}]".strip()
            edited.append((name, value))
        status, location, html = self.request("POST", change, [*edited, ("_save", "Save")])
        if status != 302 or location != "/admin/registry/partnership/":
            errors = re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S)
            detail = re.sub(r"<[^>]+>", " ", " ".join(errors)).split()
            raise RuntimeError(f"save of {pk} answered {status}: {' '.join(detail)[:300]}")
        status, _location, html = self.request("GET", location)
        if status != 200 or "was changed successfully" not in html:
            raise RuntimeError(f"no success message after saving {pk} ({status})")

    def run(self):
        try:
            self.login()
        except (OSError, RuntimeError) as error:
            self.failures.append(f"login: {error}")
            return
        number = 0
        while not self.stop.is_set():
            number += 1
            started = time.perf_counter()
            try:
                self.save(number)
            except Exception as error:  # every failure is counted, none ends the editor
                self.failures.append(f"{type(error).__name__}: {error}")
            else:
                self.saves += 1
                self.seconds.append(time.perf_counter() - started)


# Running


def run_wrk(wrk, port, requests, args, work):
    urls = Path(work) / "urls.txt"
    urls.write_text("".join(f"{language}\t{path}\n" for language, path in requests))
    command = [
        wrk,
        f"--threads={min(args.clients, 2)}",
        f"--connections={args.clients}",
        f"--duration={args.duration}s",
        f"--timeout={args.timeout}s",
        "--latency",
        f"--script={LUA}",
        f"http://{HOST}:{port}",
        "--",
        str(urls),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603  # nosec B603
    if result.returncode != 0:
        raise SystemExit(f"wrk failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    values = {}
    for line in result.stdout.splitlines():
        if line.startswith("loadtest "):
            _prefix, key, value = line.split()
            values[key] = float(value)
    return result.stdout, values


def server_errors(log):
    """The requests Django logged as failed (4xx and 5xx), and gunicorn's own complaints."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    pattern = re.compile(
        r"(Internal Server Error|Bad Request|Not Found|Forbidden|\[CRITICAL\]|"
        r"WORKER TIMEOUT|database is locked|Traceback)"
    )
    return [line for line in lines if pattern.search(line)]


def history_saves(source, env):
    code = (
        "from registry.models import Partnership; "
        f"print('LOADTEST', Partnership.history.filter(history_user__username={EDITOR!r}, "
        "history_type='~').count())"
    )
    output = manage(source, env, "shell", "-v0", "-c", code, capture=True)
    return int(next(x for x in output.splitlines() if x.startswith("LOADTEST")).split()[1])


def cpu_seconds(group):
    """CPU time used so far by the live processes of a process group (gunicorn and workers)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[2]) == group:  # pgrp; utime and stime follow at 11 and 12
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def report(args, engine, values, editor, recorded, wrong_statuses, log_lines, different):
    requests = int(values.get("requests", 0))
    seconds = values.get("duration_us", 1) / 1e6
    socket_errors = {
        kind: int(values.get(f"errors_{kind}", 0))
        for kind in ("connect", "read", "write", "timeout")
    }
    statuses = {
        key.removeprefix("status_"): int(count)
        for key, count in sorted(values.items())
        if key.startswith("status_")
    }
    bad_status = sum(count for code, count in statuses.items() if not 200 <= int(code) < 400)
    editor_seconds = sorted(editor.seconds)
    print()
    print(
        f"Load test, {time.strftime('%Y-%m-%d %H:%M')}, {engine}, gunicorn {args.workers} "
        f"{args.worker_class} worker(s) x {args.threads} thread(s), {args.clients} clients, "
        f"{args.duration} s, {args.tested}; load average before: {args.load_before}"
    )
    print(f"  requests served     {requests:,} in {seconds:.1f} s = {requests / seconds:,.1f}/s")
    print(f"  status codes        {', '.join(f'{k}: {v:,}' for k, v in statuses.items())}")
    print(
        f"  errors              {bad_status} non-2xx/3xx; socket errors "
        + ", ".join(f"{kind} {count}" for kind, count in socket_errors.items())
    )
    print(
        f"  latency             p50 {values.get('latency_p50_us', 0) / 1000:.0f} ms, "
        f"p90 {values.get('latency_p90_us', 0) / 1000:.0f} ms, "
        f"p99 {values.get('latency_p99_us', 0) / 1000:.0f} ms, "
        f"max {values.get('latency_max_us', 0) / 1000:.0f} ms"
    )
    print(
        f"  editor saves        {editor.saves} ok, {len(editor.failures)} failed; "
        f"{recorded} recorded in the history"
    )
    if editor_seconds:
        print(
            f"  editor save time    median {statistics.median(editor_seconds):.2f} s, "
            f"max {editor_seconds[-1]:.2f} s (GET form, POST, GET list)"
        )
    print(f"  load average after  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.server_cpu:
        print(
            f"  gunicorn CPU time   {args.server_cpu:.1f} s of {os.cpu_count()} x {seconds:.0f} s "
            f"= {requests / args.server_cpu:,.1f} requests per CPU second (other work on "
            "the machine takes the rest)"
        )
    problems = []
    if bad_status or int(values.get("errors_status", 0)):
        problems.append(f"{max(bad_status, int(values.get('errors_status', 0)))} non-2xx/3xx")
    if any(socket_errors.values()):
        problems.append(f"{sum(socket_errors.values())} socket errors")
    if wrong_statuses:
        problems.append(f"{len(wrong_statuses)} URLs not 200 after the run")
    if editor.failures or not editor.saves:
        problems.append(f"{len(editor.failures)} failed editor saves, {editor.saves} ok")
    if log_lines:
        problems.append(f"{len(log_lines)} error lines in the server log")
    if recorded != editor.saves:
        problems.append(f"{editor.saves} saves but {recorded} in the history")
    print(f"  against fresh pages {len(different)} of {args.compared} answers differ")
    if different:
        problems.append(f"{len(different)} answers differ from a fresh, uncached one")
    for url in different[:10]:
        print(f"  differs from fresh: {url}")
    for failure in editor.failures[:10]:
        print(f"  editor failure: {failure}")
    for url in wrong_statuses[:10]:
        print(f"  after the run: {url}")
    for line in log_lines[:20]:
        print(f"  server log: {line}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds of load (60)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent connections (32)")
    parser.add_argument(
        "--database-url",
        help=f"PostgreSQL server; the run uses its own database {PG_DATABASE} (default: SQLite)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (sync)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (1)")
    parser.add_argument(
        "--timeout", type=int, default=10, help="seconds before wrk counts a request as failed"
    )
    parser.add_argument(
        "--commit",
        help="test this commit (e.g. HEAD), exported to the temporary directory, "
        "instead of the working tree with whatever is being edited in it",
    )
    args = parser.parse_args()
    args.server_cpu = None
    args.load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    wrk = ensure_wrk()
    maintenance = None
    process = None
    with tempfile.TemporaryDirectory(prefix="twinning-loadtest-") as work:
        if args.database_url:
            url, maintenance = postgres_urls(args.database_url)
            engine = "PostgreSQL"
        else:
            url = f"sqlite:///{work}/loadtest.sqlite3"
            engine = "SQLite"
        source, args.tested = ROOT, "working tree"
        if args.commit:
            source, args.tested = export(args.commit, Path(work) / "source")
        port = free_port()
        password = secrets.token_urlsafe(24)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": HOST,
            # Plain HTTP on 127.0.0.1: cookies marked Secure would never come back.
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "LOG_LEVEL": "WARNING",
        }
        log, fresh_log = Path(work) / "gunicorn.log", Path(work) / "gunicorn-fresh.log"
        try:
            if maintenance:
                recreate_postgres(maintenance)
            data = prepare(source, env, password)
            print(f"Starting gunicorn on {HOST}:{port} ...")
            process = start_gunicorn(source, env, port, log, args)
            requests = public_urls(data)
            check_urls(port, requests)  # warm up: the first request of a page compiles templates
            pages, (wrong, timings) = requests, check_urls(port, requests)
            if wrong:
                raise SystemExit("Some URLs of the load do not answer 200:\n" + "\n".join(wrong))
            requests += static_paths(port)
            print(
                f"{len(requests)} URLs checked; {args.clients} clients for {args.duration} s, "
                "an editor saving partnerships meanwhile ..."
            )
            editor = Editor(port, password, data["partnership_ids"])
            editor.thread.start()
            try:
                cpu_before = cpu_seconds(process.pid)
                output, values = run_wrk(wrk, port, requests, args, work)
                args.server_cpu = cpu_seconds(process.pid) - cpu_before
            finally:
                editor.stop.set()
                editor.thread.join(timeout=120)
            print(output.split("\nloadtest ")[0].rstrip())
            wrong, _timings = check_urls(port, requests[:10])
            recorded = history_saves(source, env)
            fresh_port = free_port()
            print(f"Comparing every page with a fresh one from gunicorn on {HOST}:{fresh_port} ...")
            fresh = start_gunicorn(
                source, {**env, "CACHE_BACKEND": "dummy"}, fresh_port, fresh_log, args, workers=1
            )
            try:
                different = compare_with_fresh(port, fresh_port, pages)
            finally:
                stop(fresh)
            args.compared = len(pages)
            errors = server_errors(log) + server_errors(fresh_log)
            problems = report(args, engine, values, editor, recorded, wrong, errors, different)
            total = sum(seconds for seconds, _url in timings)
            print(f"  one client alone    {len(timings)} URLs in {total:.1f} s; the slowest:")
            for seconds, url in timings[:8]:
                print(f"    {seconds * 1000:6.0f} ms  {url}")
        finally:
            stop(process)
            if maintenance:
                recreate_postgres(maintenance, drop_only=True)
    if problems:
        print("FAILED: " + "; ".join(problems))
        return 1
    print("OK: no errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
