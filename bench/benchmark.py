"""The whole benchmark of issue 5 in one run, printed as one table.

    .venv/bin/python bench/benchmark.py                                  # world, both databases
    .venv/bin/python bench/benchmark.py --database sqlite --scale 0.01 --runs 1 --duration 2

For each database it builds the world (``bench/worldgen.py``: PostgreSQL database
``twinning_bench``, dropped and created again; SQLite
``bench/.data/twinning_bench-<scale>.sqlite3``), unless ``--reuse`` finds one built at the same
scale and seed (``bench/.data/postgres.built``, ``bench/.data/sqlite-<scale>.built``). Then,
for every public page and the two admin changelists (logged in as a superuser):

- queries and the in-process median time (Django's test client, cache off);
- under load: gunicorn with 2 sync workers and production settings, wrk with 8 connections
  on 127.0.0.1 for ``--duration`` seconds, ``--runs`` times, medians of requests/s and p99;
  once with the cache as configured (local memory) and once with ``CACHE_BACKEND=dummy``;
- two baselines under the same load: a Django view that returns a constant
  (``bench/baseline_django.py``) and the ranking's SQL served by a bare WSGI app
  (``bench/baseline_psycopg.py``). This machine's speed drifts by a fifth within minutes, so
  a baseline is measured next to every page rather than once: four servers stay up (the two
  baselines, the site cached and uncached), each idle while another is loaded, and each run
  of a page is the constant view, the page cached, the raw SQL, the page uncached, one after
  the other. A page's share of a baseline is the median over its runs of its requests/s
  divided by those of the baseline run just before it; the baselines' own rows are the
  medians of all their runs;
- the import: ``import_partnerships`` of the world's list against ``loaddata`` of the same
  records (rows/s and peak memory of each command, Django start-up included).

The targets of issue 5 are checked and marked PASS or FAIL. The table goes to stdout and to
``bench/results/latest.md`` (``--output``).
"""

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess  # nosec B404  # manage.py, gunicorn, wrk, apt-get; never a shell
import sys
import threading
import time
import timeit
import urllib.request
from pathlib import Path

from loadtest import ensure_wrk

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data"
RESULTS = ROOT / "bench" / "results"
HOST = "127.0.0.1"
CONNECTIONS = 8
WORKERS = 2
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_DATABASE = "twinning_bench"
PG_IMPORT_DATABASE = "twinning_bench_import"
SECRET = "benchmark-only-throwaway-key-" + "x" * 30
ADMIN = "bench-admin"

# Targets of issue 5.
RANKING_QUERIES = 2
RANKING_P99_MS = 25
CACHED_SHARE_OF_CONSTANT = 0.60
UNCACHED_SHARE_OF_RAW = 0.15
PAST_RANKING_MS = 200
LIST_P99_MS = 50
DEEPEST_FACTOR = 3
DETAIL_P99_MS = 50
IMPORT_ROWS_PER_S = 20_000
IMPORT_FACTOR = 20
IMPORT_PEAK_MB = 300


# The pages, measured in a subprocess with Django set up (``--in-process``).


def pages():
    """(name, path, logged in) of every page the benchmark measures, on this database."""
    from django.urls import reverse

    from registry.models import Municipality
    from registry.views import PAGE_SIZE

    total = Municipality.objects.count()
    deepest = max(1, -(-total // PAGE_SIZE))
    top = Municipality.objects.order_by("-partner_count", "pk").first()
    municipalities = reverse("registry:municipalities")
    return [
        ("home", reverse("registry:home"), False),
        ("municipalities, page 1", municipalities, False),
        (f"municipalities, deepest page ({deepest:,})", f"{municipalities}?page={deepest}", False),
        ("municipalities, filtered", f"{municipalities}?country=DE&has_partners=yes", False),
        (
            f"municipality with most partners ({top.partner_count})",
            top.get_absolute_url(),
            False,
        ),
        ("partnerships, page 1", reverse("registry:partnerships"), False),
        ("rankings", reverse("registry:ranking"), False),
        ("rankings?on=1970", f"{reverse('registry:ranking')}?on=1970", False),
        ("country rankings", reverse("registry:country_ranking"), False),
        ("statistics", reverse("registry:statistics"), False),
        ("admin: partnerships", reverse("admin:registry_partnership_changelist"), True),
        ("admin: municipalities", reverse("admin:registry_municipality_changelist"), True),
    ]


def in_process(runs, sql_file):
    """Measure every page with the test client; print one JSON document."""
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user = User.objects.filter(username=ADMIN).first() or User.objects.create_superuser(
        ADMIN, password=None
    )
    anonymous, admin = Client(), Client()
    admin.force_login(user)
    results = []
    for name, path, logged_in in pages():
        client = admin if logged_in else anonymous
        response = client.get(path)  # the first request compiles templates
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            client.get(path)
        # Read them now: the next request empties the connection's log.
        queries = list(captured.captured_queries)
        if name == "rankings":
            statements = [" ".join(query["sql"].split()) for query in queries]
            Path(sql_file).write_text("\n".join(statements) + "\n")
        timings = []
        for _ in range(runs):
            cache.clear()
            started = time.perf_counter()
            client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
        results.append(
            {
                "name": name,
                "path": path,
                "admin": logged_in,
                "queries": len(queries),
                "ms": statistics.median(timings),
            }
        )
    print(json.dumps({"pages": results, "session": admin.cookies["sessionid"].value}))


# Processes


def run(command, env, **kwargs):
    return subprocess.run(command, env=env, cwd=ROOT, check=True, **kwargs)  # noqa: S603 - fixed arguments, no shell  # nosec B603


# Runs a command and prints its peak memory. A child started straight from this (large)
# process would report this process's memory as its own peak: Linux keeps the high-water
# mark across exec. This small interpreter in between has next to nothing to pass on.
_PEAK = (
    "import resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
)


def timed(command, env):
    """Run ``command``; its wall time in seconds and its own peak memory in MB."""
    started = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments, no shell  # nosec B603
        [sys.executable, "-S", "-c", _PEAK, *map(str, command)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed: {result.stderr}")
    return seconds, int(result.stdout.split()[-1]) / 1024


def manage(env, *args):
    run([sys.executable, str(ROOT / "manage.py"), *args], env)


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Gunicorn:
    """gunicorn with 2 sync workers serving ``app`` on a free port, stopped on exit."""

    def __init__(self, app, env, log):
        self.app, self.env, self.log = app, env, log
        self.port = free_port()

    def __enter__(self):
        self.stream = open(self.log, "a")  # noqa: SIM115 - closed in __exit__
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell  # nosec B603
            [
                str(Path(sys.executable).parent / "gunicorn"),
                self.app,
                f"--bind={HOST}:{self.port}",
                f"--workers={WORKERS}",
                "--worker-class=sync",
                "--timeout=120",
                "--backlog=2048",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.stream,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn {self.app} exited at start; see {self.log}")
            try:
                with urllib.request.urlopen(self.url("/"), timeout=30):  # noqa: S310 - http://127.0.0.1 only  # nosec B310
                    return self
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"gunicorn {self.app} did not answer; see {self.log}")

    def __exit__(self, *exc):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.stream.close()

    def url(self, path):
        return f"http://{HOST}:{self.port}{path}"


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(binary, url, seconds, cookie=None):
    """One wrk run: requests/s, p99 in ms, and the number of failed requests."""
    command = [binary, "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "--timeout=10s"]
    if cookie:
        command += ["-H", f"Cookie: sessionid={cookie}"]
    output = subprocess.run(  # noqa: S603 - fixed arguments, no shell  # nosec B603
        [*command, url], check=True, capture_output=True, text=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    value, unit = re.search(r"\n\s+99%\s+([\d.]+)(us|ms|s)", output).groups()
    failed = sum(
        int(number)
        for number in re.findall(
            r"(?:Non-2xx or 3xx responses:|connect|read|write|timeout) (\d+)", output
        )
    )
    return rps, float(value) * _UNITS[unit], failed


def drain(server):
    """Wait until the workers have answered what wrk left queued when it stopped.

    A sync worker takes one request at a time, in the order they came: once one request per
    worker sent now is answered, all before them are, and the next page starts on an idle
    server rather than behind the last page's backlog.
    """
    threads = [
        threading.Thread(target=_get, args=(server.url("/robots.txt"),)) for _ in range(WORKERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=600):  # noqa: S310 - 127.0.0.1 only  # nosec B310
            pass
    except OSError:
        pass  # 404 or the like: answered all the same


def warm(binary, server, path, cookie=None):
    """One short wrk run, not counted: the workers import, compile templates and fill their
    caches before the runs that count."""
    wrk(binary, server.url(path), 1, cookie)
    drain(server)


def once(binary, server, path, args, cookie=None):
    """One wrk run of ``--duration`` seconds, on a server left idle after it: the servers
    share the cores, so one still answering a backlog would slow the next one measured."""
    result = wrk(binary, server.url(path), args.duration, cookie)
    drain(server)
    return result


def medians(runs):
    """Median requests/s and median p99 of wrk runs, and their failed requests in all."""
    return {
        "rps": statistics.median(r[0] for r in runs),
        "p99": statistics.median(r[1] for r in runs),
        "failed": sum(r[2] for r in runs),
    }


# One database


def environment(url, **extra):
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "twinning.settings",
        "DEBUG": "0",
        "SECRET_KEY": SECRET,
        "ALLOWED_HOSTS": f"{HOST},testserver",
        # Plain HTTP on 127.0.0.1: cookies marked Secure would never come back.
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def database_url(engine, scale, name=PG_DATABASE):
    if engine == "postgres":
        return f"{PG_SERVER}/{name}"
    return f"sqlite:///{DATA / f'{name}-{scale:g}.sqlite3'}"


def built_marker(engine, scale):
    """The file saying which world a database holds: SQLite has a file per scale, PostgreSQL
    one database for every scale."""
    return DATA / ("postgres.built" if engine == "postgres" else f"sqlite-{scale:g}.built")


def build(engine, args):
    url = database_url(engine, args.scale)
    marker = built_marker(engine, args.scale)
    wanted = f"scale={args.scale:g} seed={args.seed}"
    # (stripped: a marker written by hand may end in a newline)
    if args.reuse and marker.exists() and marker.read_text().strip() == wanted:
        print(f"{engine}: reusing the world built at {wanted}", file=sys.stderr)
        return url, None
    marker.unlink(missing_ok=True)
    print(f"{engine}: building the world at scale {args.scale:g} ...", file=sys.stderr)
    started = time.perf_counter()
    run(
        [
            sys.executable,
            str(ROOT / "bench" / "worldgen.py"),
            f"--scale={args.scale}",
            f"--seed={args.seed}",
            f"--database-url={url}",
        ],
        environment(url),
        stdout=sys.stderr,
    )
    marker.write_text(wanted)
    return url, time.perf_counter() - started


# A fixed piece of pure Python, timed: how fast the machine runs Python at that moment.
_LOOP = "x = 0\nfor i in range(3_000_000):\n    x += i"


def machine_speed():
    """Milliseconds of :data:`_LOOP`, best of three. This machine's speed moves by half
    within an hour; printed beside the table, it says how fast the machine was during the run,
    and so how far timings of different runs compare."""
    return min(timeit.repeat(_LOOP, number=1, repeat=3)) * 1000


def measure(engine, args, binary):
    url, build_seconds = build(engine, args)
    env = environment(url)
    speeds = [machine_speed()]
    manage(env, "migrate", "-v0")  # a reused world gets the migrations added since,
    if build_seconds is None:  # and statistics for their indexes
        code = "from registry.synthetic import analyze; analyze()"
        run([sys.executable, str(ROOT / "manage.py"), "shell", "-v0", "-c", code], env)
    manage(env, "collectstatic", "--noinput", "-v0")
    sql_file = DATA / f"ranking-{engine}-{args.scale:g}.sql"
    print(f"{engine}: pages in process ...", file=sys.stderr)
    output = run(
        [sys.executable, __file__, "--in-process", f"--runs={args.runs}", f"--sql={sql_file}"],
        environment(url, CACHE_BACKEND="dummy"),
        capture_output=True,
        text=True,
    ).stdout
    measured = json.loads(output.strip().splitlines()[-1])
    rows, session = measured["pages"], measured["session"]
    log = DATA / f"gunicorn-{engine}-{args.scale:g}.log"
    log.unlink(missing_ok=True)
    baselines = under_load(engine, rows, session, env, sql_file, log, binary, args)
    speeds.append(machine_speed())
    result = {"engine": engine, "pages": rows, "baselines": baselines, "build": build_seconds}
    if not args.skip_import:
        print(f"{engine}: import against loaddata ...", file=sys.stderr)
        result["import"] = import_against_loaddata(engine, args)
        speeds.append(machine_speed())
    result["speeds"] = speeds
    return result


# Each page's mode, the baseline measured just before it in every run, and what that one serves.
PAIRS = (("cached", "constant"), ("uncached", "raw"))


def under_load(engine, rows, session, env, sql_file, log, binary, args):
    """Every page under load, cached and uncached, each run next to a run of its baseline.

    Fills each row's ``cached`` and ``uncached`` (medians of requests/s and p99, the median
    of the runs' shares of their baselines, and the runs themselves) and returns the baselines'
    medians over all their runs.
    """
    apps = {
        "constant": ("bench.baseline_django:application", env),
        "cached": ("twinning.wsgi:application", env),
        "raw": ("bench.baseline_psycopg:application", {**env, "BASELINE_SQL": str(sql_file)}),
        "uncached": ("twinning.wsgi:application", {**env, "CACHE_BACKEND": "dummy"}),
    }
    baseline_runs = {baseline: [] for _, baseline in PAIRS}
    with contextlib.ExitStack() as stack:
        servers = {
            name: stack.enter_context(Gunicorn(app, app_env, log))
            for name, (app, app_env) in apps.items()
        }
        for baseline in baseline_runs:
            warm(binary, servers[baseline], "/")
        for row in rows:
            print(f"{engine}: under load: {row['name']} ...", file=sys.stderr)
            cookie = session if row["admin"] else None
            for mode, _ in PAIRS:
                warm(binary, servers[mode], row["path"], cookie)
            runs = {name: [] for name in apps}
            for _ in range(args.runs):
                for mode, baseline in PAIRS:
                    runs[baseline].append(once(binary, servers[baseline], "/", args))
                    runs[mode].append(once(binary, servers[mode], row["path"], args, cookie))
            for mode, baseline in PAIRS:
                pairs = list(zip(runs[mode], runs[baseline], strict=True))
                row[mode] = {
                    **medians(runs[mode]),
                    "share": statistics.median(
                        page[0] / base[0] if base[0] else 0.0 for page, base in pairs
                    ),
                    "runs": [
                        {"rps": page[0], "p99": page[1], f"{baseline}_rps": base[0]}
                        for page, base in pairs
                    ],
                }
                baseline_runs[baseline] += runs[baseline]
    return {
        baseline: {**medians(runs), "runs": len(runs)} for baseline, runs in baseline_runs.items()
    }


def import_against_loaddata(engine, args):
    """``import_partnerships`` of the world's list into an empty database, then ``loaddata``
    of what it wrote (the first ``--loaddata-rows`` partnerships with their towns, sources and
    import run: loaddata saves one object at a time, so all of them would take an hour) into
    another empty one. Seconds, rows/s and peak memory of each whole command."""
    data = DATA / f"world-{args.scale:g}" / "partnerships.csv"
    with open(data, encoding="utf-8") as stream:
        rows = sum(1 for _ in stream) - 1
    fixture = DATA / f"import-{engine}-{args.scale:g}.json"
    url = database_url(engine, args.scale, PG_IMPORT_DATABASE)
    env = environment(url)
    manage_py = [sys.executable, str(ROOT / "manage.py")]
    sys.path.insert(0, str(ROOT / "bench"))
    from worldgen import fresh_database

    # The median of --runs imports, each into a database made afresh; the last one's rows
    # stay for the fixture below.
    imports = []
    for _ in range(args.runs):
        fresh_database(url)
        manage(env, "migrate", "-v0")
        imports.append(timed([*manage_py, "import_partnerships", str(data), "-v0"], env))
    imported = (
        statistics.median(seconds for seconds, _ in imports),
        statistics.median(memory for _, memory in imports),
    )
    # dumpdata asks for every object's many-to-many fields one by one: only what is loaded.
    code = (
        "import json; from registry.models import Partnership as P; "
        f"ps = list(P.objects.order_by('pk')[:{args.loaddata_rows}].values_list('pk', "
        "'first_id', 'second_id')); "
        "print(json.dumps([[p for p, _, _ in ps], sorted({t for _, a, b in ps for t in (a, b)})]))"
    )
    partnerships, towns = json.loads(
        run([*manage_py, "shell", "-v0", "-c", code], env, capture_output=True).stdout
    )
    records = []
    for model, pks in (
        ("registry.importrun", None),
        ("registry.source", None),
        ("registry.municipality", towns),
        ("registry.partnership", partnerships),
    ):
        selection = [f"--pks={','.join(map(str, pks))}"] if pks else []
        dump = run([*manage_py, "dumpdata", model, *selection], env, capture_output=True).stdout
        records += json.loads(dump)
    fixture.write_text(json.dumps(records))
    fresh_database(url)
    manage(env, "migrate", "-v0")
    loaded = timed([*manage_py, "loaddata", str(fixture), "-v0"], env)
    fresh_database(url)
    return {
        "rows": rows,
        "import": imported,
        "loaddata_rows": len(partnerships),
        "loaddata": loaded,
    }


# The table


def verdict(ok):
    return "PASS" if ok else "FAIL"


def checks(row, pages_by_name):
    """The targets of issue 5 that apply to this page, each PASS or FAIL."""
    name, cached, uncached = row["name"], row["cached"], row["uncached"]
    out = []
    if name == "rankings":
        out.append(f"≤{RANKING_QUERIES} queries {verdict(row['queries'] <= RANKING_QUERIES)}")
        out.append(f"p99 ≤{RANKING_P99_MS} ms {verdict(cached['p99'] <= RANKING_P99_MS)}")
        share = cached["share"]
        out.append(f"≥60% constant {verdict(share >= CACHED_SHARE_OF_CONSTANT)}")
        share = uncached["share"]
        out.append(f"≥15% raw uncached {verdict(share >= UNCACHED_SHARE_OF_RAW)}")
    elif name.startswith("rankings?on="):
        out.append(f"≤{PAST_RANKING_MS} ms in process {verdict(row['ms'] <= PAST_RANKING_MS)}")
    elif name in ("municipalities, page 1", "partnerships, page 1", "municipalities, filtered"):
        out.append(f"p99 ≤{LIST_P99_MS} ms {verdict(cached['p99'] <= LIST_P99_MS)}")
    elif name.startswith("municipalities, deepest"):
        first = pages_by_name["municipalities, page 1"]
        ok = (
            row["ms"] <= DEEPEST_FACTOR * first["ms"]
            and cached["p99"] <= DEEPEST_FACTOR * first["cached"]["p99"]
        )
        out.append(f"≤{DEEPEST_FACTOR}× page 1 {verdict(ok)}")
    elif name.startswith("municipality with most"):
        out.append(f"p99 ≤{DETAIL_P99_MS} ms {verdict(cached['p99'] <= DETAIL_P99_MS)}")
    if not cached["rps"] or not uncached["rps"]:
        out.append("no request answered within a run FAIL")
    if cached["failed"] or uncached["failed"]:
        out.append(f"{cached['failed'] + uncached['failed']} failed requests FAIL")
    return "; ".join(out) or "–"


def table(result, args):
    engine = {"postgres": "PostgreSQL", "sqlite": "SQLite"}[result["engine"]]
    constant, raw = result["baselines"]["constant"], result["baselines"]["raw"]
    by_name = {row["name"]: row for row in result["pages"]}
    lines = [
        f"### {engine}",
        "",
        "| page | queries | in-process ms | req/s cached | p99 ms cached | ÷ constant "
        "| req/s uncached | p99 ms uncached | ÷ raw SQL | targets |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        f"| *baseline: constant Django view* | 0 | – | {constant['rps']:,.0f} "
        f"| {constant['p99']:.1f} | 100% | | | | |",
        f"| *baseline: ranking SQL, raw WSGI* | – | – | | | | {raw['rps']:,.0f} "
        f"| {raw['p99']:.1f} | 100% | |",
    ]
    for row in result["pages"]:
        cached, uncached = row["cached"], row["uncached"]
        lines.append(
            f"| {row['name']} | {row['queries']} | {row['ms']:.1f} | {cached['rps']:,.0f} "
            f"| {cached['p99']:.1f} | {cached['share']:.0%} "
            f"| {uncached['rps']:,.0f} | {uncached['p99']:.1f} "
            f"| {uncached['share']:.0%} | {checks(row, by_name)} |"
        )
    if "import" in result:
        imported = result["import"]
        rows, loaddata_rows = imported["rows"], imported["loaddata_rows"]
        (seconds, peak), (loaddata_seconds, loaddata_peak) = (
            imported["import"],
            imported["loaddata"],
        )
        speed, loaddata_speed = rows / seconds, loaddata_rows / loaddata_seconds
        targets = [
            f"≥{IMPORT_FACTOR}× loaddata {verdict(speed >= IMPORT_FACTOR * loaddata_speed)}",
            f"<{IMPORT_PEAK_MB} MB {verdict(peak < IMPORT_PEAK_MB)}",
        ]
        if result["engine"] == "postgres":
            targets.append(f"≥{IMPORT_ROWS_PER_S:,} rows/s {verdict(speed >= IMPORT_ROWS_PER_S)}")
        lines += [
            "",
            "Import into an empty database, whole command with Django start-up (the import: "
            "medians of as many runs as the pages'; loaddata: one run):",
            "",
            "| command | rows | seconds | rows/s | peak memory | targets |",
            "| --- | ---: | ---: | ---: | ---: | --- |",
            f"| `import_partnerships` of the world's list | {rows:,} | {seconds:.1f} "
            f"| {speed:,.0f} | {peak:.0f} MB | {'; '.join(targets)} |",
            f"| `loaddata` of the records it wrote for its first rows | {loaddata_rows:,} "
            f"| {loaddata_seconds:.1f} | {loaddata_speed:,.0f} | {loaddata_peak:.0f} MB "
            f"| the import is {speed / loaddata_speed:.0f}× faster |",
        ]
    if result["build"]:
        lines += ["", f"Building the world took {result['build'] / 60:.1f} min."]
    return "\n".join(lines)


def code_state():
    """The commit measured, and whether the checkout had uncommitted changes."""
    commit = subprocess.run(  # noqa: S603 - git with fixed arguments  # nosec B603, B607
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    dirty = subprocess.run(  # noqa: S603 - git with fixed arguments  # nosec B603, B607
        ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    # (.stdout apart from the call, so that bandit's nosec above applies to the call alone)
    commit, dirty = commit.stdout.strip(), dirty.stdout.strip()
    return f"commit {commit}" + (" with uncommitted changes" if dirty else "")


def report(results, args, started):
    load_average = " ".join(f"{value:.2f}" for value in os.getloadavg())
    header = [
        f"## Benchmark, {time.strftime('%Y-%m-%d %H:%M')}, scale {args.scale:g}",
        "",
        f"World at scale {args.scale:g}: {results[0]['world']}. "
        f"Medians of {args.runs} runs; under load: gunicorn {WORKERS} sync workers, wrk "
        f"{CONNECTIONS} connections for {args.duration} s on {HOST}. *Cached*: the cache as "
        "configured (local memory); *uncached*: `CACHE_BACKEND=dummy`. In-process times: test "
        "client, cache off. ÷ constant and ÷ raw SQL: requests/s as a share of the baselines, "
        "measured next to every page (the constant view, the page cached, the raw SQL, the "
        "page uncached, in each run); each page's share is the median of its runs' shares "
        "against the baseline measured just before it, and the baselines' rows are the "
        "medians of all their runs.",
        "",
        f"Machine: {os.cpu_count()} cores, shared with other work while this ran (load average "
        f"{load_average} at the end); the numbers move with that load. Whole run "
        f"{(time.perf_counter() - started) / 60:.0f} min. Code: {args.code}.",
        "",
        "Machine speed (a fixed Python loop, `bench/benchmark.py:_LOOP`, best of 3, ms; lower is "
        "faster) before, between and after the parts of each database: "
        + "; ".join(
            f"{result['engine']} " + ", ".join(f"{speed:.0f}" for speed in result["speeds"])
            for result in results
        )
        + ". The same code's timings move with it; on this machine it has moved by half within "
        "an hour.",
    ]
    return "\n".join(header + [""] + ["\n\n".join(table(result, args) for result in results)])


def world_summary(engine, args):
    url = database_url(engine, args.scale)
    code = (
        "from registry.models import *; "
        "print(f'{Municipality.objects.count():,} municipalities, "
        "{Partnership.objects.bilateral().count():,} partnerships, "
        "{Partnership.objects.networks().count():,} networks with "
        "{Membership.objects.count():,} members, {Event.objects.count():,} events')"
    )
    return run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-v0", "-c", code],
        environment(url),
        capture_output=True,
        text=True,
    ).stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--scale", type=float, default=1.0, help="1 is the world (default)")
    parser.add_argument("--seed", type=int, default=1950)
    parser.add_argument("--runs", type=int, default=3, help="medians of this many runs (3)")
    parser.add_argument("--duration", type=int, default=5, help="seconds of each wrk run (5)")
    parser.add_argument("--reuse", action="store_true", help="keep a world built at this scale")
    parser.add_argument(
        "--loaddata-rows",
        type=int,
        default=5000,
        help="partnerships loaddata loads, with their towns, against the whole import (5000)",
    )
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--output", default=str(RESULTS / "latest.md"))
    parser.add_argument(
        "--update-readme",
        action="store_true",
        help="also put the table into README.md's performance section",
    )
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sql", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.in_process:
        in_process(args.runs, args.sql)
        return
    started = time.perf_counter()
    args.code = code_state()
    binary = ensure_wrk()
    DATA.mkdir(parents=True, exist_ok=True)
    engines = ["postgres", "sqlite"] if args.database == "both" else [args.database]
    results = []
    for engine in engines:
        result = measure(engine, args, binary)
        result["world"] = world_summary(engine, args)
        results.append(result)
        # Kept in case a later database's part fails: the measurements of this one.
        (DATA / f"result-{engine}-{args.scale:g}.json").write_text(json.dumps(result))
    text = report(results, args, started)
    print(text)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text + "\n")
    if args.update_readme:
        update_readme(text)


README_START = "<!-- benchmark table: written by bench/benchmark.py --update-readme -->"
README_END = "<!-- end of the benchmark table -->"


def update_readme(text, readme=ROOT / "README.md"):
    """Put the table between the two markers of the README, its headings one level down."""
    content = readme.read_text()
    start, end = content.index(README_START), content.index(README_END)
    table = re.sub(r"^(#{2,3}) ", lambda m: "#" * (len(m.group(1)) + 2) + " ", text, flags=re.M)
    readme.write_text(f"{content[: start + len(README_START)]}\n{table.strip()}\n{content[end:]}")


if __name__ == "__main__":
    main()
