from registry.importing import NETWORK_COLUMNS, NETWORK_REQUIRED, import_networks
from registry.management.commands import import_partnerships


class Command(import_partnerships.Command):
    help = (
        "Import the members of multilateral networks from a UTF-8 CSV file with a header row, "
        f"one row per member. Required columns: {', '.join(NETWORK_REQUIRED)}; optional: "
        f"{', '.join(c for c in NETWORK_COLUMNS if c not in NETWORK_REQUIRED)}. A network is "
        "found among the registry's networks by its name (case and accents ignored) or "
        "created, with the start its rows give; a member is found by any of its names in its "
        "country (and region, if given) or created. A member a network has already is not "
        "added again. By default nothing is written if any row is bad."
    )
    offers_geocoding = False

    def run_import(self, data, *, geocode, **options):
        return import_networks(data, **options)
