"""Send reads to a read replica when one is configured, everything else to the primary.

With ``DATABASE_REPLICA_URL`` set, settings define a ``replica`` database alias; reads go
there, writes and migrations to ``default``. Objects read from either may be related, since
the replica holds the primary's data. Without a replica every query goes to ``default``.
A request that must read its own writes (the admin after a save) reads inside the write's
transaction, which Django keeps on the primary.
"""

from django.conf import settings
from django.db import transaction

REPLICA = "replica"


class PrimaryReplicaRouter:
    def __init__(self, replica=None):
        # None: as configured in settings (Django creates routers with no arguments).
        self.replica = REPLICA in settings.DATABASES if replica is None else replica

    def db_for_read(self, model, **hints):
        if not self.replica:
            return "default"
        # Inside a transaction on the primary, read there: the replica lags behind it.
        if transaction.get_connection("default").in_atomic_block:
            return "default"
        return REPLICA

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return {obj1._state.db, obj2._state.db} <= {"default", REPLICA}

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        model = hints.get("model")
        if model is not None and not model._meta.managed:
            # A model Django does not manage (such as a database view): nothing to
            # migrate, dump or load.
            return False
        return db == "default"
