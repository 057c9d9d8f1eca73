"""The staff's home: entering and correcting municipalities, partnerships and their history.

Every record of the registry keeps its history (django-simple-history): the "History"
button of each object shows who changed what and when, and staff who may change it can
revert any earlier version from there. Rows edited inline (members, kind and status changes,
alternative names) have their own page for that, behind the row's change link. Import runs
are kept as written, with no history of their own; reverting one deletes what it created and
records on the run who reverted it and when. Searches ignore case and accents and look at every
name, so "koln" and "Cologne" find Köln.

- ``refusals``: an address a page cannot use (a NUL, a lookup of the wrong type, an add form's
  initial value that is no record's key) is refused with a 400 and a message naming it;
- ``stale_forms``: a form saved after someone else's save of the same record is refused;
- ``base``: what every registry admin shares (``HistoryAdmin``), the search mixins;
- ``list_filters``: the changelists' own filters;
- ``records``: the admin of each record of the registry; ``accounts``: users and groups;
- ``imports``: the import runs, importing a file (dry run, confirmation, progress) and
  reverting a run after a confirmation listing what goes;
- ``versions``: what each version in a history changed; ``flagging``: "Flag for review" on
  every record; ``flags``: the list of review flags, for Editors; ``corrections``: the
  corrections reported by the public, with their status;
- ``merging``: merging a municipality into another, making it a district, undoing a merge.
"""

from registry.admin import (  # noqa: F401  # registers the admins
    accounts,
    corrections,
    flags,
    imports,
    merging,
    records,
)
