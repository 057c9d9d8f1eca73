"""Members of networks and changes of kind and status remember the import run that created
them (``import_networks``, ``import_changes``), so that reverting the run takes them back;
the run counts them."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0007_event_import_run"),
    ]

    operations = [
        # Versions from 0006 to 0010 made a view of participations after every migrate; on a
        # database they made, it is dropped here first, as SQLite cannot rebuild a table under
        # it (0007 to 0009 and 0011 each drop it, so that any of those states migrates).
        migrations.RunSQL(
            "DROP VIEW IF EXISTS registry_participation", reverse_sql=migrations.RunSQL.noop
        ),
        migrations.AddField(
            model_name="historicalkindchange",
            name="import_run",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="registry.importrun",
                verbose_name="created by import",
            ),
        ),
        migrations.AddField(
            model_name="historicalmembership",
            name="import_run",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="registry.importrun",
                verbose_name="created by import",
            ),
        ),
        migrations.AddField(
            model_name="historicalstatuschange",
            name="import_run",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="registry.importrun",
                verbose_name="created by import",
            ),
        ),
        migrations.AddField(
            model_name="importrun",
            name="changes_created",
            field=models.PositiveIntegerField(
                default=0, verbose_name="changes of kind or status created"
            ),
        ),
        migrations.AddField(
            model_name="importrun",
            name="memberships_created",
            field=models.PositiveIntegerField(default=0, verbose_name="members added"),
        ),
        migrations.AddField(
            model_name="kindchange",
            name="import_run",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="kind_changes",
                to="registry.importrun",
                verbose_name="created by import",
            ),
        ),
        migrations.AddField(
            model_name="membership",
            name="import_run",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="memberships",
                to="registry.importrun",
                verbose_name="created by import",
            ),
        ),
        migrations.AddField(
            model_name="statuschange",
            name="import_run",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="status_changes",
                to="registry.importrun",
                verbose_name="created by import",
            ),
        ),
    ]
