"""Every record has a first version in its history: the countries and themes of migration
0002, and whatever an earlier version loaded from fixtures or imported without one, get it
here, in one statement per model (``registry.history.write_versions``)."""

from django.db import migrations
from django.utils.translation import gettext

from registry.history import historied_models, write_versions


def first_versions(apps, schema_editor):
    reason = gettext("As found when the registry began to record first versions")
    for model, history_model in historied_models(apps.get_app_config("registry")):
        write_versions(
            model,
            history_model,
            reason=reason,
            only_without_history=True,
            using=schema_editor.connection.alias,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0016_history_without_relation_indexes"),
    ]

    operations = [
        migrations.RunPython(first_versions, migrations.RunPython.noop),
    ]
