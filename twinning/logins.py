"""Who is logging in, as django-axes counts failed logins: the client's address behind the
proxy, and which failures lock whom.

Behind the HTTPS proxy of the README (``BEHIND_PROXY=1``) every request comes from the
proxy's address; the client's address is in ``X-Forwarded-For``, to which each proxy appends
the address it was reached from. Only the last ``TRUSTED_PROXY_COUNT`` entries were written by
our proxies: whatever stands left of them the client may have sent itself, so the client's
address is the entry the outermost trusted proxy wrote, never one further left.

An account is locked after too many failures from anywhere. An address is locked after too
many failures from it, but only for the usernames that failed from it: many people share an
address (an office, a proxy that is not configured), and the failures of one of them must not
lock out another who has not failed.
"""

import ipaddress

from axes.attempts import get_cool_off_threshold
from axes.helpers import get_client_username
from axes.models import AccessAttempt, AccessBase
from django.conf import settings


def _address(value):
    """``value`` as an IP address in its usual form, or ``None`` if it is none."""
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # 192.0.2.1:443
        value = value.partition(":")[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request):
    """The client's address: with ``BEHIND_PROXY``, the one the outermost of the
    ``TRUSTED_PROXY_COUNT`` proxies saw; otherwise ``REMOTE_ADDR``. A request that did not pass
    all the trusted proxies (a header too short, or none) or names no address there counts
    under ``REMOTE_ADDR``."""
    remote = request.META.get("REMOTE_ADDR", "")
    if not settings.BEHIND_PROXY:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    count = settings.TRUSTED_PROXY_COUNT
    if len(forwarded) < count or not forwarded[-count].strip():
        return remote
    return _address(forwarded[-count]) or remote


def lockout_parameters(request_or_attempt, credentials=None):
    """What a failure is counted by: the username always; the address as well once this
    username has failed from it (django-axes' ``AXES_LOCKOUT_PARAMETERS``)."""
    if isinstance(request_or_attempt, AccessBase):
        return ["username", "ip_address"]  # a recorded failure: its username failed there
    username = get_client_username(request_or_attempt, credentials)
    address = getattr(request_or_attempt, "axes_ip_address", None)
    if username is None or address is None:
        return ["username", "ip_address"]
    failures = AccessAttempt.objects.filter(username=username, ip_address=address)
    if settings.AXES_COOLOFF_TIME is not None:
        failures = failures.filter(attempt_time__gte=get_cool_off_threshold(request_or_attempt))
    return ["username", "ip_address"] if failures.exists() else ["username"]
