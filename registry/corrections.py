"""Reports of mistakes from the public: "Report a correction" on every municipality's and
partnership's page leads to a form of its own (the pages stay cached and the same for every
visitor), which stores the report for staff (``registry.admin.corrections``) and tells them by
mail. Nothing of it is ever published automatically.

No account and no captcha; bots are kept out by:

- a honeypot, a field people do not see (hidden by the stylesheet, out of the tab order, its
  label asking to leave it empty): filled in, the answer is the thank-you page as for a real
  report, but nothing is stored and nobody is mailed;
- the time the form was served, signed: a form sent back within :data:`MIN_SECONDS`, or
  without a valid signature, is shown again with a message (a fast person loses nothing);
- a rate limit per client address, ``CORRECTIONS_PER_HOUR`` in each clock hour, counted in
  the cache under a salted hash of the address (the address is stored nowhere): status 429
  with ``Retry-After``.

Like the language switch (``twinning.views``), the form is refused to other sites by the
headers every browser sends with a POST rather than by a CSRF token, so no page of the site
sets a cookie. The client's address behind the proxy is ``twinning.logins.client_ip``, the one
django-axes counts failed logins by.
"""

import logging
import time

from django import forms
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import get_callable, reverse
from django.utils import translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from registry.models import CorrectionReport, Municipality, Partnership
from registry.models.corrections import SOURCE_LENGTH, TEXT_LENGTH
from registry.views import takes
from twinning.logins import client_ip
from twinning.views import sent_by_this_site

logger = logging.getLogger(__name__)

# A form sent back sooner than this after it was served was filled in by no person.
MIN_SECONDS = 3
# A form served longer ago than this is served again (its signature is refused).
MAX_AGE = 24 * 60 * 60
HOUR = 60 * 60
_SALT = "registry.corrections.served"


def served_token(at=None):
    """The signed time a form is served at (``at``, seconds since the epoch; now)."""
    return signing.dumps(int(time.time() if at is None else at), salt=_SALT)


class HoneypotInput(forms.TextInput):
    """The field people do not see: out of the tab order and not filled in by the browser."""

    def __init__(self):
        super().__init__(attrs={"tabindex": "-1", "autocomplete": "off"})


class CorrectionForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("What is wrong?"),
        max_length=TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": gettext_lazy("Say what is wrong: this field is required.")},
    )
    source = forms.CharField(
        label=gettext_lazy("What is right, and where does it say so? (optional)"),
        help_text=gettext_lazy("A link or a publication lets staff check it sooner."),
        max_length=SOURCE_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    name = forms.CharField(
        label=gettext_lazy("Your name (optional)"), max_length=200, required=False
    )
    email = forms.EmailField(
        label=gettext_lazy("Your e-mail address (optional)"),
        help_text=gettext_lazy("Only to ask you about this report; never shown."),
        required=False,
    )
    # The honeypot: a name a bot likes to fill in.
    website = forms.CharField(
        label=gettext_lazy("Leave this field empty"), required=False, widget=HoneypotInput()
    )
    served = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["served"].initial = served_token()

    @property
    def caught(self):
        """Whether a bot filled in the honeypot."""
        return bool(self.data.get("website", "").strip())

    def clean_served(self):
        value = self.cleaned_data["served"]
        try:
            served = signing.loads(value, salt=_SALT)
            if not isinstance(served, int) or time.time() - served > MAX_AGE:
                raise signing.BadSignature
        except signing.BadSignature:
            raise forms.ValidationError(
                _("This form is too old or came incomplete. Check it, then send it again."),
                code="served",
            ) from None
        if time.time() - served < MIN_SECONDS:
            raise forms.ValidationError(
                _(
                    "This form came back within seconds of being opened. Check it, then send "
                    "it again."
                ),
                code="fast",
            )
        return value


def _messages(form):
    """The form's errors as (label, message) pairs, in the order of its fields."""
    found = []
    for name, field_errors in form.errors.items():
        label = form.fields[name].label if name in form.fields and name != "served" else ""
        found.extend((label, message) for message in field_errors)
    return found


def _again(form):
    """``form`` to be sent again: what was typed kept, with a new time served."""
    data = form.data.copy()
    data["served"] = served_token()
    form.data = data
    return form


def _kept(form):
    """A new form holding what ``form`` was sent with, to be sent again later."""
    return CorrectionForm(
        initial={name: form.data.get(name, "") for name in ("text", "source", "name", "email")}
    )


def _rate_key(request):
    address = salted_hmac(
        "registry.corrections.rate", client_ip(request), algorithm="sha256"
    ).hexdigest()
    return f"registry:corrections:{int(time.time()) // HOUR}:{address}"


def _subject_context(subject):
    if isinstance(subject, Municipality):
        return {
            "subject": subject,
            "thanks_url": reverse("registry:municipality_correction_thanks", args=[subject.slug]),
        }
    return {
        "subject": subject,
        "thanks_url": reverse("registry:partnership_correction_thanks", args=[subject.pk]),
    }


def _report(request, subject):
    """The form for ``subject`` (GET), or the report sent with it (POST)."""
    if request.method == "POST" and not sent_by_this_site(request):
        failure = get_callable(settings.CSRF_FAILURE_VIEW)
        return failure(request, reason="A correction form of another site.")
    context = _subject_context(subject)
    template = "registry/correction_form.html"
    if request.method != "POST":
        return render(request, template, {**context, "form": CorrectionForm(), "errors": []})
    form = CorrectionForm(request.POST)
    rate_key = _rate_key(request)
    limit = settings.CORRECTIONS_PER_HOUR
    if cache.get(rate_key, 0) >= limit:
        wait = HOUR - int(time.time()) % HOUR
        minutes = -(-wait // 60)
        message = " ".join(
            [
                ngettext(
                    "This address has sent %(limit)d report within the hour, the most the "
                    "registry takes.",
                    "This address has sent %(limit)d reports within the hour, the most the "
                    "registry takes.",
                    limit,
                )
                % {"limit": limit},
                ngettext(
                    "Please send this one again in %(minutes)d minute.",
                    "Please send this one again in %(minutes)d minutes.",
                    minutes,
                )
                % {"minutes": minutes},
            ]
        )
        response = render(
            request,
            template,
            {**context, "form": _kept(form), "errors": [("", message)]},
            status=429,
        )
        response["Retry-After"] = str(wait)
        return response
    if form.caught:
        _count(rate_key)
        return redirect(context["thanks_url"])
    if not form.is_valid():
        errors = _messages(form)
        return render(
            request, template, {**context, "form": _again(form), "errors": errors}, status=400
        )
    report = CorrectionReport.objects.create(
        municipality=subject if isinstance(subject, Municipality) else None,
        partnership=subject if isinstance(subject, Partnership) else None,
        text=form.cleaned_data["text"],
        source=form.cleaned_data["source"],
        name=form.cleaned_data["name"],
        email=form.cleaned_data["email"],
        language=translation.get_language(),
    )
    _count(rate_key)
    _tell_staff(request, report)
    return redirect(context["thanks_url"])


def _count(rate_key):
    cache.add(rate_key, 0, timeout=HOUR + 60)
    try:
        cache.incr(rate_key)
    except ValueError:  # expired between the two calls
        cache.add(rate_key, 1, timeout=HOUR + 60)


def _recipients():
    return settings.CORRECTIONS_EMAIL or [address for _name, address in settings.MANAGERS]


def _tell_staff(request, report):
    """Mail the report to staff; a failure is logged, the report is stored already."""
    recipients = _recipients()
    if not recipients:
        return
    subject = report.subject
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Correction reported: %(subject)s") % {"subject": subject}
        lines = [
            f"{subject}: {request.build_absolute_uri(subject.get_absolute_url())}",
            "",
            _("What is wrong:"),
            report.text,
            "",
            _("What is right, and where it says so:"),
            report.source or "—",
            "",
            _("From: %(name)s %(email)s")
            % {"name": report.name or "—", "email": f"<{report.email}>" if report.email else ""},
            _("Language: %(language)s") % {"language": report.language},
            "",
            _("In the admin: %(url)s")
            % {
                "url": request.build_absolute_uri(
                    reverse("admin:registry_correctionreport_change", args=[report.pk])
                )
            },
        ]
    message = EmailMessage(
        title,
        "\n".join(line.rstrip() for line in lines),
        to=recipients,
        reply_to=[report.email] if report.email else None,
    )
    try:
        message.send()
    except Exception:  # the report is kept: staff find it in the admin
        logger.exception("The mail about correction report %s could not be sent.", report.pk)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@takes()
def municipality_correction(request, slug):
    return _report(request, get_object_or_404(Municipality, slug=slug))


@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@takes()
def partnership_correction(request, pk):
    return _report(request, get_object_or_404(Partnership.objects.for_list(), pk=pk))


@require_safe
@takes()
def municipality_correction_thanks(request, slug):
    subject = get_object_or_404(Municipality, slug=slug)
    return render(request, "registry/correction_thanks.html", {"subject": subject})


@require_safe
@takes()
def partnership_correction_thanks(request, pk):
    subject = get_object_or_404(Partnership.objects.for_list(), pk=pk)
    return render(request, "registry/correction_thanks.html", {"subject": subject})
