"""The registry's data: countries, municipalities, partnerships, their histories and sources.

One module for each part of the record, the QuerySets where they would make a module long, and
the set-based counting SQL on its own:

- ``places``: countries, regions, municipalities and their alternative names;
  ``municipality_queries``: the municipalities' QuerySet (lists, search, rankings);
- ``partnerships``: partnerships and networks, members and joint partners, themes and
  associations; ``partnership_queries``: their QuerySet;
- ``changes``: the dated changes of kind and status, on one abstract base;
- ``merges`` (a municipality merged into another, to be undone);
- ``events``, ``sources``, ``imports`` (the import runs, reverting one, and the files
  uploaded in the admin to be imported), ``flags`` (a record flagged for review),
  ``corrections`` (mistakes reported by the public, for staff);
- ``counting``: the SQL that counts each municipality's partners for rankings and the stored
  count; ``display``: names in the active language, quick URLs and choice labels.

Every name below is importable from here, as ``registry.models.Partnership``.
"""

from registry.dates import end_not_before_start
from registry.models.changes import DatedChangeManager, KindChange, StatusChange
from registry.models.corrections import CorrectionReport, CorrectionReportQuerySet
from registry.models.counting import participations_sql
from registry.models.display import QuickDisplay, name_choices, quick_reverse
from registry.models.events import Event, EventManager, EventQuerySet
from registry.models.flags import ReviewFlag, ReviewFlagQuerySet
from registry.models.imports import ImportRun, ImportUpload
from registry.models.merges import Merge
from registry.models.municipality_queries import MunicipalityQuerySet
from registry.models.partnership_queries import PartnershipQuerySet
from registry.models.partnerships import (
    Association,
    Membership,
    MembershipManager,
    Partnership,
    SlugManager,
    Theme,
)
from registry.models.places import (
    AlternativeName,
    AlternativeNameManager,
    Country,
    CountryQuerySet,
    Municipality,
    Region,
    RegionManager,
)
from registry.models.sources import Source, SourceManager

__all__ = [
    "AlternativeName",
    "AlternativeNameManager",
    "Association",
    "CorrectionReport",
    "CorrectionReportQuerySet",
    "Country",
    "CountryQuerySet",
    "DatedChangeManager",
    "Event",
    "EventManager",
    "EventQuerySet",
    "ImportRun",
    "ImportUpload",
    "KindChange",
    "Membership",
    "MembershipManager",
    "Merge",
    "Municipality",
    "MunicipalityQuerySet",
    "Partnership",
    "PartnershipQuerySet",
    "QuickDisplay",
    "Region",
    "RegionManager",
    "ReviewFlag",
    "ReviewFlagQuerySet",
    "SlugManager",
    "Source",
    "SourceManager",
    "StatusChange",
    "Theme",
    "end_not_before_start",
    "name_choices",
    "participations_sql",
    "quick_reverse",
]
