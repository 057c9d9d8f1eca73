from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = _("Twinning registry")

    def ready(self):
        from registry import caching, signals

        post_migrate.connect(signals.grant_group_permissions, sender=self)
        caching.connect()
