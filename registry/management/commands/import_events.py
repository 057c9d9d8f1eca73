from registry.importing import EVENT_COLUMNS, EVENT_REQUIRED, import_events
from registry.management.commands import import_partnerships


class Command(import_partnerships.Command):
    help = (
        "Import events (visits, signings, awards, ...) of the partnerships, networks and "
        "municipalities the registry has, from a UTF-8 CSV file with a header row. Required "
        f"columns: {', '.join(EVENT_REQUIRED)}; optional: "
        f"{', '.join(c for c in EVENT_COLUMNS if c not in EVENT_REQUIRED)}. A row's subject "
        "is the partnership or network with the slug in 'partnership'; else the partnership "
        "between municipality_a and municipality_b (either way round; partnership_kind "
        "chooses where they have several); else, without municipality_b, the town "
        "municipality_a. An award names its level in 'award' (european_diploma, "
        "flag_of_honour, plaque_of_honour, europe_prize, other). By default nothing is "
        "written if any row is bad."
    )
    offers_geocoding = False

    def run_import(self, data, *, geocode, **options):
        return import_events(data, **options)
