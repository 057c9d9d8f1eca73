"""Events of partnerships, networks and municipalities: ``import_events``.

Required columns ``kind``, ``date``, ``title``. A row's subject is the partnership or network
whose slug ``partnership`` gives; else the bilateral partnership between ``municipality_a``
and ``municipality_b`` (either way round; ``partnership_kind`` chooses where they have
several); else, without ``municipality_b``, the town ``municipality_a`` itself, each found in
the registry by :class:`registry.importing.matching.Subjects`. An event the registry has
(same subject, kind, date and title) is not created again; one listed twice is one event.
"""

from dataclasses import dataclass

from registry.dates import PartialDate
from registry.importing.matching import Subjects
from registry.importing.reading import RowError
from registry.importing.rows import KIND_SPELLINGS, MAX_NAME, RowParser, Side, quick_fold
from registry.importing.runner import Import, Report
from registry.importing.writing import analyze, insert, reserve_ids, write_sources
from registry.models import Event
from registry.text import fold

EVENT_REQUIRED = ["kind", "date", "title"]
EVENT_COLUMNS = [
    *EVENT_REQUIRED,
    "partnership",
    "municipality_a",
    "country_a",
    "region_a",
    "municipality_b",
    "country_b",
    "region_b",
    "partnership_kind",
    "award",
    "country_at_time",
    "place",
    "participants",
    "description",
    "source",
]
EVENT_KIND_SPELLINGS = {
    **{fold(kind.value): kind for kind in Event.Kind},
    **{fold(str(kind.label)): kind for kind in Event.Kind},
}
AWARD_SPELLINGS = {
    **{fold(award.value): award for award in Event.Award},
    **{fold(str(award.label)): award for award in Event.Award},
}


@dataclass(slots=True)
class EventRow:
    """A checked row of a list of events; ``a`` and ``b`` the towns it names, if any."""

    line: int
    kind: str
    date: PartialDate
    title: str
    award: str
    country_at_time: object
    place: str
    participants: str
    description: str
    source: str
    slug: str
    a: Side | None
    b: Side | None
    partnership_kind: str
    subject: tuple = ()  # ("partnership", pk) or ("municipality", pk), once found


@dataclass
class EventReport(Report):
    """The :class:`Report` of a list of events."""

    events_created: int = 0

    def summary(self):
        return {
            "rows read": self.rows_read,
            "rows rejected": self.rows_rejected,
            "events created": self.events_created,
            "duplicates merged": self.duplicates_merged,
            "already in the registry": self.already_present,
        }


class EventParser(RowParser):
    """Checks the rows of a list of events: each is an :class:`EventRow`."""

    def fast_parser(self, index):
        """None: every event row gets the full check."""
        return None

    def subject(self, record, error):
        """What a row of events (or of changes) is about, as given: the partnership's slug,
        the kind chosen where a pair has several, and the cells municipality_a,
        municipality_b, country_a, country_b; a slug and names beside it is a mistake."""
        slug = record.get("partnership", "").strip()
        partnership_kind = self.choice(record, "partnership_kind", KIND_SPELLINGS, "", error)
        names = [
            record.get(f"{part}_{suffix}", "").strip()
            for part in ("municipality", "country")
            for suffix in ("a", "b")
        ]
        if slug and any(names):
            error("partnership", "give the partnership or the municipalities, not both")
        return slug, partnership_kind, names

    def check(self, line, record, error):
        """The valid EventRow; ``None`` after reporting a mistake through ``error``."""
        kind = self.choice(record, "kind", EVENT_KIND_SPELLINGS, None, error)
        if not record.get("kind", "").strip():
            error("kind", "is empty")
        date = self.date(record, "date", error)
        if not record.get("date", "").strip():
            error("date", "is empty")
        title = self.name(record, "title", error)
        award = self.choice(record, "award", AWARD_SPELLINGS, "", error)
        if kind == Event.Kind.AWARD and not award and not record.get("award", "").strip():
            error("award", "name the level of the award")
        if kind and kind != Event.Kind.AWARD and award:
            error("award", "only an award has a level")
        then = self.place(record, "country_at_time", error, required=False)
        place = self.text(record, "place", MAX_NAME, error, collapse=True)
        participants = self.text(record, "participants", 10_000, error)
        description = self.text(record, "description", 10_000, error)
        source = self.text(record, "source", 500, error)
        slug, partnership_kind, names = self.subject(record, error)
        a = b = None
        if not slug:
            a = self.town(record, "a", error)
            if record.get("municipality_b", "").strip() or record.get("country_b", "").strip():
                b = self.town(record, "b", error)
                if a and b and a.key == b.key:
                    error("municipality_b", f"{b.name!r} is the same town as {a.name!r}")
        if error:
            return None
        return EventRow(
            line,
            kind,
            date,
            title,
            award,
            then[0] if then else None,
            place,
            participants,
            description,
            source,
            slug,
            a,
            b,
            partnership_kind,
        )

    def town(self, record, suffix, error):
        """The :class:`Side` of the town in the columns ``municipality_{suffix}``,
        ``country_{suffix}`` and ``region_{suffix}``; None after reporting a mistake."""
        name = self.name(record, f"municipality_{suffix}", error)
        place = self.place(record, f"country_{suffix}", error)
        region = self.text(record, f"region_{suffix}", MAX_NAME, error, collapse=True)
        if not name or not place or region is None:
            return None
        country, home, search_in = place
        return Side(name, quick_fold(name), country, home, search_in, region)


class EventImport(Import):
    """:class:`Import` of a list of events."""

    required = EVENT_REQUIRED
    columns = EVENT_COLUMNS
    report_class = EventReport
    parser_class = EventParser

    def plan(self, rows, report):
        """The new events, by (subject, kind, date, title)."""
        new = _new_events(rows, report)
        report.events_created = len(new)
        return new

    def creates(self, plan):
        return bool(plan)

    def run_counts(self, report):
        return {"events_created": report.events_created}

    def write(self, plan, run):
        sources = write_sources(row.source for row in plan.values())
        ids = reserve_ids(Event, len(plan))
        links = []

        def events():
            for pk, row in zip(ids, plan.values(), strict=True):
                if row.source:
                    links.append((pk, sources[row.source]))
                partnership = row.subject[1] if row.subject[0] == "partnership" else None
                municipality = row.subject[1] if row.subject[0] == "municipality" else None
                yield (
                    pk,
                    row.kind,
                    row.title,
                    row.date,
                    partnership,
                    municipality,
                    row.award,
                    _pk(row.country_at_time),
                    row.place,
                    row.participants,
                    row.description,
                    run.pk,
                )

        insert(
            Event,
            [
                "id",
                "kind",
                "title",
                "date",
                "partnership",
                "municipality",
                "award",
                "country_at_time",
                "place",
                "participants",
                "description",
                "import_run",
            ],
            events(),
        )
        insert(Event.sources.through, ["event", "source"], links, written={Event: ids})
        analyze(Event, needed=False)


def import_events(data, **options):
    """Import the list of events ``data`` (the CSV file's bytes) into the partnerships,
    networks and towns the registry has; return its Report.

    The options, and when it writes, are those of :class:`registry.importing.runner.Import`;
    reverting its run deletes its events.
    """
    return EventImport(data, **options).run()


def _pk(instance):
    return instance.pk if instance is not None else None


def _new_events(rows, report):
    """The events of ``rows`` the registry does not have, merged, by (subject, kind, date,
    title); what is wrong with the others goes to ``report``."""
    finder = Subjects(rows)
    found = []
    for row in rows:
        subject, problem = finder.find(row)
        if problem:
            report.errors.append(RowError(row.line, *problem))
        else:
            row.subject = subject
            found.append(row)
    subjects = {row.subject for row in found}
    present = set()
    for partnership, municipality, kind, date, title in (
        Event.objects.order_by()
        .values_list("partnership_id", "municipality_id", "kind", "date", "title")
        .iterator(chunk_size=10_000)
    ):
        subject = ("partnership", partnership) if partnership else ("municipality", municipality)
        if subject in subjects:
            present.add((subject, kind, date, title))
    new = {}
    for row in found:
        key = (row.subject, row.kind, row.date, row.title)
        if key in present:
            report.already_present += 1
        elif key in new:
            report.duplicates_merged += 1
            earlier = new[key]
            for name in ("award", "place", "participants", "description", "source"):
                if not getattr(earlier, name):
                    setattr(earlier, name, getattr(row, name))
            earlier.country_at_time = earlier.country_at_time or row.country_at_time
        else:
            new[key] = row
    return new
