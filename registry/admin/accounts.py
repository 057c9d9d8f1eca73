"""Django's own admins of accounts, refusing an address they cannot use as the registry's do."""

from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth.models import Group, User

from registry.admin.refusals import RefuseBadAddressMixin

# They answered a NUL, "id__range=1" or an add form's "groups=abc" with a 500.
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(RefuseBadAddressMixin, auth_admin.UserAdmin):
    pass


@admin.register(Group)
class GroupAdmin(RefuseBadAddressMixin, auth_admin.GroupAdmin):
    pass
