"""Writing what an import creates, in bulk, without model instances or per-row signals.

:func:`insert` writes rows of database values in one statement per table: ``COPY`` on
PostgreSQL, with the foreign keys checked once per distinct key where the role may turn the
per-row checks off (:func:`insert` says how), and ``executemany`` in chunks on SQLite;
:func:`reserve_ids` gives the new rows their primary keys beforehand, so that rows referring
to them can be written at once. :func:`write_towns` and :func:`write_sources` write the new
towns (with their regions and slugs) and sources every kind of file may create;
:func:`analyze` and :func:`wait_for_recounts` come after a bulk write;
:func:`write_first_versions` gives every record an import created its first version in the
history, in one statement per model.
"""

import hashlib
import itertools
import operator
import re

from django.db import IntegrityError, connection
from django.utils.text import slugify
from django.utils.translation import gettext as _

from registry.history import write_versions
from registry.models import (
    Event,
    KindChange,
    Membership,
    Municipality,
    Partnership,
    Region,
    Source,
    StatusChange,
)
from registry.signals import PARTNER_COUNT_LOCK
from registry.text import fold

BATCH = 2000
CHUNK = 10_000  # rows per executemany on SQLite


_SLUG_DROP = re.compile(r"[^\w\s-]")
_SLUG_DASHES = re.compile(r"[-\s]+")


def quick_slug(folded):
    """``slugify(folded)``, quicker for ASCII (already lower case: folded), the same slug."""
    if folded.isascii():
        if folded.replace(" ", "").isalnum():  # ASCII letters and digits: most names
            return "-".join(folded.split())
        return _SLUG_DASHES.sub("-", _SLUG_DROP.sub("", folded)).strip("-_")
    return slugify(folded)


def free_slug(base, taken, suffix):
    """A slug not in ``taken`` (which it joins): base, base-suffix, base-suffix-2, ..."""
    for candidate in (base, f"{base}-{suffix}"):
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    number = 2
    while f"{base}-{suffix}-{number}" in taken:
        number += 1
    candidate = f"{base}-{suffix}-{number}"
    taken.add(candidate)
    return candidate


def write_towns(run, sides, counts=None):
    """Create the new municipalities (and their new regions) of ``sides``, with their
    partner counts (``counts``: by side key); each side learns its town's pk and slug.
    Return the new towns' keys.

    The towns are written, and given their keys, in the order of their names (a stable
    sort: of two towns of one name, the first in the file keeps the plain slug): the indexes
    on the key, the slug and the name are then filled from one end, which costs the
    database least (bench/NOTES.md)."""
    sides = sorted(sides, key=_by_folded_name)
    if not sides:
        return ()
    countries = {side.home.id for side in sides}
    regions = {
        (country_id, fold(name)): pk
        for pk, country_id, name in Region.objects.filter(country__in=countries).values_list(
            "pk", "country_id", "name"
        )
    }
    folded = {}  # each distinct region name folded once
    new_regions = {}
    for side in sides:
        if side.region:
            if side.region not in folded:
                folded[side.region] = fold(side.region)
            key = (side.home.id, folded[side.region])
            if key not in regions and key not in new_regions:
                new_regions[key] = Region(country=side.home, name=side.region)
    Region.objects.bulk_create(new_regions.values(), batch_size=BATCH)
    regions.update({key: region.pk for key, region in new_regions.items()})
    slugs = set(Municipality.objects.order_by().values_list("slug", flat=True))
    ids = reserve_ids(Municipality, len(sides))
    counts = counts or {}
    suffixes = {}  # country id -> the slug suffix that tells towns of the same name apart
    city = Municipality.Kind.CITY

    def towns():
        run_pk = run.pk
        for pk, side in zip(ids, sides, strict=True):
            home = side.home.id
            base = quick_slug(side.folded)[:150] or "municipality"
            if base in slugs:
                if home not in suffixes:
                    suffixes[home] = side.home.code.lower()
                slug = free_slug(base, slugs, suffixes[home])
            else:
                slugs.add(base)
                slug = base
            side.pk, side.slug = pk, slug
            yield (
                pk,
                side.name,
                side.folded,
                slug,
                side.kind or city,
                home,
                regions.get((home, folded[side.region])) if side.region else None,
                side.latitude,
                side.longitude,
                side.population,
                side.geonames_id,
                side.wikidata_id,
                run_pk,
                counts.get((home, side.folded), 0) if counts else 0,
            )

    insert(
        Municipality,
        [
            "id",
            "name",
            "name_folded",
            "slug",
            "kind",
            "country",
            "region",
            "latitude",
            "longitude",
            "population",
            "geonames_id",
            "wikidata_id",
            "import_run",
            "partner_count",
        ],
        towns(),
    )
    return ids


_by_folded_name = operator.attrgetter("folded")


def write_sources(texts):
    """One Source per distinct source text, shared with earlier imports of it; map each
    text to its source's pk."""
    texts = {text for text in texts if text}
    keys = {
        text: "import-" + hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]
        for text in texts
    }
    if not keys:
        return {}
    found = dict(Source.objects.filter(key__in=keys.values()).values_list("key", "pk"))
    new = [
        Source(
            key=key,
            citation=text[:500],
            url=text if re.match(r"https?://\S+$", text) else "",
        )
        for text, key in keys.items()
        if key not in found
    ]
    Source.objects.bulk_create(new, batch_size=BATCH)
    found.update({source.key: source.pk for source in new})
    return {text: found[key] for text, key in keys.items()}


def reserve_ids(model, count):
    """``count`` primary keys for new rows of ``model`` that no other writer will take.

    PostgreSQL hands them out from the table's sequence. SQLite lets one writer in at a time,
    and the import run, written first, holds the lock: the keys follow the highest ever used
    (AUTOINCREMENT's ``sqlite_sequence``), so a deleted row's key is never reused.
    """
    if not count:
        return []
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The sequence found once (not once per key), and the keys handed back as their
            # range where no other writer took one in between (as good as always), else all.
            cursor.execute(
                "WITH reserved AS (SELECT nextval((SELECT pg_get_serial_sequence(%s, %s)"
                "::regclass)) AS pk FROM generate_series(1, %s)) "
                "SELECT MIN(pk), MAX(pk), CASE WHEN MAX(pk) - MIN(pk) + 1 = COUNT(*) THEN NULL "
                "ELSE array_agg(pk ORDER BY pk) END FROM reserved",
                [connection.ops.quote_name(table), column, count],
            )
            first, last, scattered = cursor.fetchone()
            return scattered if scattered is not None else range(first, last + 1)
        quoted = connection.ops.quote_name(column), connection.ops.quote_name(table)
        highest = "SELECT MAX(%s) FROM %s" % quoted  # noqa: S608, UP031 (model names)  # nosec B608
        cursor.execute(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "  # noqa: S608 (model names)
            f"COALESCE(({highest}), 0))",  # nosec B608
            [table],
        )
        first = cursor.fetchone()[0] + 1
    return range(first, first + count)


def insert(model, names, rows, *, written=None):
    """Insert ``rows`` (tuples of database values in the order of the fields ``names``) into
    ``model``'s table in one statement: ``COPY`` on PostgreSQL, ``executemany`` elsewhere.

    Every other column gets its field's default, so a field added to the model later with a
    default needs no change here. No model instances, no signals: the caller keeps the
    derived columns (``name_folded``, ``partner_count``) right itself.

    ``written`` (model -> keys) names rows this transaction wrote itself, which the rows may
    refer to without a check (see :func:`_copy`).
    """
    opts = model._meta
    fields = [opts.get_field(name) for name in names]
    # The primary key, if not given, is the database's to assign.
    rest = [field for field in opts.concrete_fields if field not in fields and field is not opts.pk]
    defaults = tuple(field.get_db_prep_save(field.get_default(), connection) for field in rest)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _copy(cursor, opts, fields + rest, (row + defaults for row in rows), written or {})
            return
        columns = ", ".join(connection.ops.quote_name(field.column) for field in fields + rest)
        table = connection.ops.quote_name(opts.db_table)
        marks = ", ".join(["%s"] * (len(fields) + len(rest)))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 (model names)  # nosec B608
        # In lists of CHUNK rows: Django's SQLite cursor peeks at an iterator through tee(),
        # which would keep every row of one long iterator until the end.
        rows = iter(rows)
        while chunk := [row + defaults for row in itertools.islice(rows, CHUNK)]:
            cursor.executemany(sql, chunk)


def _copy(cursor, opts, fields, rows, written):
    """``COPY`` ``rows`` (values of ``fields``) into the table of ``opts``, on PostgreSQL.

    The database checks each foreign key of each row with a lookup of its own when the
    transaction commits: a million lookups for an import of 100,000 partnerships, more time
    than all the rest of the import. Where this role may turn triggers off for its session
    (``session_replication_role``: a superuser's, or granted with ``GRANT SET ON PARAMETER``)
    and the table has no trigger on insert but those checks, the same check is made here
    instead, once per distinct key: every key must name an existing row, which is locked
    ``FOR KEY SHARE`` just as the database's own check locks it, so that no other
    transaction can delete it before this one commits. Keys of rows this transaction wrote
    itself (``written``) are known to exist and seen by no one else. Otherwise the database
    checks every row as usual. Either way a missing row is an ``IntegrityError`` and nothing
    is written.
    """
    quote = connection.ops.quote_name
    table = quote(opts.db_table)
    columns = ", ".join(quote(field.column) for field in fields)
    sql = f"COPY {table} ({columns}) FROM STDIN"
    references = [(at, f) for at, f in enumerate(fields) if f.many_to_one and f.db_constraint]
    role = None
    if references:
        # In one statement: the role in force, read first (the CTE), and the switch, made
        # only where allowed (CASE evaluates it only then).
        cursor.execute(
            "WITH now AS MATERIALIZED (SELECT current_setting('session_replication_role') AS "
            "role, has_parameter_privilege('session_replication_role', 'SET') AND NOT EXISTS ("
            "SELECT 1 FROM pg_trigger WHERE tgrelid = %s::regclass AND tgtype & 4 <> 0 "
            "AND tgfoid <> '\"RI_FKey_check_ins\"'::regproc) AS may) "
            "SELECT role, CASE WHEN may THEN set_config('session_replication_role', 'replica', "
            "true) END FROM now",
            [table],
        )
        role, switched = cursor.fetchone()
        if switched is None:
            role = None
    # The keys to check here, each once: not those of rows written by this transaction
    # (none where the database checks them).
    checks = []
    for at, key in references if role is not None else ():
        known = written.get(key.related_model, ())
        if not isinstance(known, range | set | frozenset):
            known = set(known)
        checks.append((at, key, known, set()))
    with cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
            for at, _, known, keys in checks:
                value = row[at]
                if value is not None and value not in known:
                    keys.add(value)
    if role is None:
        return
    cursor.execute("SELECT set_config('session_replication_role', %s, true)", [role])
    checks = [(key, keys) for _, key, _, keys in checks if keys]
    _check_references(cursor, opts, checks)


def _check_references(cursor, opts, checks):
    """Raise ``IntegrityError`` unless each key of ``checks`` (foreign key, keys) names a row
    of the key's target; lock those rows ``FOR KEY SHARE``. One statement for all."""
    if not checks:
        return
    quote = connection.ops.quote_name

    def target(key):
        return quote(key.related_model._meta.db_table), quote(key.target_field.column)

    locked = ", ".join(
        "k%d AS (SELECT 1 FROM %s WHERE %s = ANY(%%s) FOR KEY SHARE)" % (n, *target(key))  # noqa: S608, UP031 (model names)  # nosec B608
        for n, (key, _) in enumerate(checks)
    )
    counts = " UNION ALL ".join(f"SELECT {n}, COUNT(*) FROM k{n}" for n in range(len(checks)))  # noqa: S608  # nosec B608
    cursor.execute(f"WITH {locked} {counts}", [list(keys) for _, keys in checks])  # nosec B608
    for n, found in sorted(cursor.fetchall()):
        key, keys = checks[n]
        if found == len(keys):
            continue
        table, column = target(key)
        cursor.execute(
            f"SELECT key FROM unnest(%s) AS key EXCEPT SELECT {column} FROM {table} "  # noqa: S608 (model names)  # nosec B608
            "ORDER BY 1 LIMIT 5",
            [list(keys)],
        )
        missing = ", ".join(str(row[0]) for row in cursor.fetchall())
        raise IntegrityError(
            f'insert into "{opts.db_table}" violates its foreign key on "{key.column}": '
            f'no row {missing} in "{key.related_model._meta.db_table}"'
        )


def analyze(*models, needed=True):
    """Refresh the planner's statistics after a bulk write.

    Without them the planner still thinks the tables as small as before the import and
    counts partners by scanning instead of through the side indexes (19 s instead of 1 s
    for 25,000 rows on PostgreSQL). SQLite never analyzes by itself; PostgreSQL's
    autovacuum analyzes a table soon after a bulk write, so there only where a query of this
    transaction needs the statistics at once (``needed``).
    """
    if connection.vendor == "postgresql" and not needed:
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def wait_for_recounts():
    """Wait for any other transaction's recount of partner counts to end
    (``registry.signals.recount``), before recounting the existing towns an import gave a
    partner: the two recounts then do not undo each other. PostgreSQL only (SQLite has one
    writer at a time)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PARTNER_COUNT_LOCK])


# What an import may create, and whether its rows carry the run (the others, shared with later
# imports, do not).
CREATED = (
    (Region, False),
    (Source, False),
    (Municipality, True),
    (Partnership, True),
    (Membership, True),
    (Event, True),
    (KindChange, True),
    (StatusChange, True),
)


def highest_keys():
    """The highest primary key of each model an import may create, before it writes (one
    query): every row it writes has a higher one (:func:`reserve_ids`, the sequences)."""
    quote = connection.ops.quote_name
    highest = ", ".join(
        f"(SELECT MAX({quote(model._meta.pk.column)}) FROM {quote(model._meta.db_table)})"  # noqa: S608 (model names)  # nosec B608
        for model, _ in CREATED
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {highest}")  # nosec B608
        row = cursor.fetchone()
    return {model: key or 0 for (model, _), key in zip(CREATED, row, strict=True)}


def write_first_versions(run, before):
    """The first version in the history of every record ``run`` created (``before``: the
    :func:`highest_keys` before it wrote), with the run as its reason and the run's user as
    who made it: one ``INSERT ... SELECT`` per model, the rows copied by the database.

    The regions and sources it created carry no run: they are the rows past ``before`` that
    have no version yet (a record saved meanwhile in the admin has its own). A model whose
    highest key did not move got no new row, and no statement."""
    reason = _("Import run #%(pk)s: %(file)s") % {"pk": run.pk, "file": run.file_name}
    column = connection.ops.quote_name
    after = highest_keys()
    for model, carries_run in CREATED:
        if after[model] == before[model]:
            continue
        pk = f"record.{column(model._meta.pk.column)}"
        if carries_run:
            where, params = f"{pk} > %s AND record.import_run_id = %s", [before[model], run.pk]
        else:
            where, params = f"{pk} > %s", [before[model]]
        write_versions(
            model,
            model.history.model,
            reason=reason,
            user_id=run.user_id,
            where=where,
            params=params,
            only_without_history=not carries_run,
        )
