"""Importing large real-world lists from CSV: read, check, match, bulk write, one transaction.

Every kind of file takes the same path, the one driver :class:`Import` (``runner``): every row
is checked before anything is written; then, in one transaction and after any other import
has ended (an advisory lock on PostgreSQL, the write lock on SQLite), the rows are matched
with the registry and, if nothing is wrong (or the good rows are asked for), written with one
``COPY`` per table on PostgreSQL and ``executemany`` (one per 10,000 rows) on SQLite, primary
keys reserved beforehand (no model instances, no per-row signals). Every record it creates
gets its first version in the history, naming the run and its user, copied in by the
database with one statement per model; its :class:`ImportRun` is the record of what it
created, and reverting the run deletes that (each deleted record gets its "-" version); an
import that creates nothing records no run.

The modules, in the order the data passes them:

- ``reading``: decoding the file, its CSV records, the messages about the file;
- ``rows``: the row parser and its fast path, the spellings of kinds and statuses;
- ``matching``: finding towns by any of their names, the plan of new towns and partnerships,
  the subjects of events and changes;
- ``writing``: the bulk writers (``COPY`` with the key checks on PostgreSQL, ``executemany``
  on SQLite), new towns and sources;
- ``runner``: the one import driver;
- one module per kind of file: ``partnerships``, ``municipalities``, ``events``,
  ``networks``, ``changes``; and ``export`` for ``export_partnerships``.

Every name below is importable from here, as ``registry.importing.import_partnerships``.
"""

from registry.importing.changes import (
    CHANGE_COLUMNS,
    CHANGE_REQUIRED,
    ChangeParser,
    ChangeReport,
    import_changes,
)
from registry.importing.events import (
    EVENT_COLUMNS,
    EVENT_REQUIRED,
    EventParser,
    EventReport,
    import_events,
)
from registry.importing.export import export_rows
from registry.importing.matching import Matcher, Plan, Subjects
from registry.importing.municipalities import (
    TOWN_COLUMNS,
    TOWN_REQUIRED,
    TownParser,
    TownReport,
    import_municipalities,
)
from registry.importing.networks import (
    NETWORK_COLUMNS,
    NETWORK_REQUIRED,
    MemberParser,
    NetworkReport,
    import_networks,
)
from registry.importing.partnerships import COLUMNS, OPTIONAL, REQUIRED, import_partnerships
from registry.importing.reading import ImportFileError, Records, RowError
from registry.importing.rows import (
    KIND_SPELLINGS,
    MAX_NAME,
    STATUS_SPELLINGS,
    Row,
    RowParser,
    Side,
    fast_coordinate,
    parse_rows,
    quick_fold,
)
from registry.importing.runner import Import, ImportConflict, Report
from registry.importing.writing import insert, quick_slug

__all__ = [
    "CHANGE_COLUMNS",
    "CHANGE_REQUIRED",
    "COLUMNS",
    "EVENT_COLUMNS",
    "EVENT_REQUIRED",
    "KIND_SPELLINGS",
    "MAX_NAME",
    "NETWORK_COLUMNS",
    "NETWORK_REQUIRED",
    "OPTIONAL",
    "REQUIRED",
    "STATUS_SPELLINGS",
    "TOWN_COLUMNS",
    "TOWN_REQUIRED",
    "ChangeParser",
    "ChangeReport",
    "EventParser",
    "EventReport",
    "Import",
    "ImportConflict",
    "ImportFileError",
    "Matcher",
    "MemberParser",
    "NetworkReport",
    "Plan",
    "Records",
    "Report",
    "Row",
    "RowError",
    "RowParser",
    "Side",
    "Subjects",
    "TownParser",
    "TownReport",
    "export_rows",
    "fast_coordinate",
    "import_changes",
    "import_events",
    "import_municipalities",
    "import_networks",
    "import_partnerships",
    "insert",
    "parse_rows",
    "quick_fold",
    "quick_slug",
]
