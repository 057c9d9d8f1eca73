"""Reads to a replica when one is configured, writes to the primary."""

import pytest
from django.db import transaction

from registry.models import Partnership
from twinning.routers import PrimaryReplicaRouter

router = PrimaryReplicaRouter()
with_replica = PrimaryReplicaRouter(replica=True)


def test_without_a_replica_everything_goes_to_the_primary():
    assert router.db_for_read(Partnership) == "default"
    assert router.db_for_write(Partnership) == "default"


def test_with_a_replica_reads_go_there_and_writes_and_migrations_to_the_primary():
    assert with_replica.db_for_read(Partnership) == "replica"
    assert with_replica.db_for_write(Partnership) == "default"
    assert (
        with_replica.allow_migrate("default", "registry"),
        with_replica.allow_migrate("replica", "registry"),
    ) == (True, False)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # no test-wide transaction
def test_reads_inside_a_write_transaction_stay_on_the_primary():
    with transaction.atomic():
        assert with_replica.db_for_read(Partnership) == "default"
    assert with_replica.db_for_read(Partnership) == "replica"
