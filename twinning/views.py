"""The language switch: Django's ``set_language``, refused to other sites by the headers every
browser sends with a form, rather than by a CSRF token.

Every public page carries the switch. A token in it would make each visitor's copy of a page
different (a token and a cookie each): no shared cache could serve a page as it is, and every
visit, the first of a visitor or a crawler above all, would pay for a new random secret. The
switch changes nothing but the visitor's own language cookie, and a browser says on every POST
where the form came from: ``Sec-Fetch-Site`` (Fetch metadata, sent by every current browser) or,
from older ones, ``Origin``. A POST from another site is refused with the CSRF failure page
and sets no cookie; a request with neither header came from no browser, so no other site
can have sent it through the visitor's. The same rule as Go's ``CrossOriginProtection`` and the
Fetch metadata guidance (https://web.dev/articles/fetch-metadata).
"""

from django.conf import settings
from django.shortcuts import render
from django.urls import get_callable
from django.views.decorators.csrf import csrf_exempt
from django.views.i18n import set_language

# Sec-Fetch-Site values of a request this site sent, or the visitor typed ("none").
_OWN = ("same-origin", "none")


def sent_by_this_site(request):
    """Whether a browser sent ``request`` from one of this site's own pages (or from none),
    rather than from another site; true for requests that no browser sent."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in _OWN
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    own = f"{'https' if request.is_secure() else 'http'}://{request.get_host()}"
    return origin == own or origin in settings.CSRF_TRUSTED_ORIGINS


@csrf_exempt
def switch_language(request):
    """Django's ``set_language``, for requests from this site's own pages only."""
    if request.method == "POST" and not sent_by_this_site(request):
        failure = get_callable(settings.CSRF_FAILURE_VIEW)  # as CsrfViewMiddleware finds it
        return failure(request, reason="The language switch of another site.")
    return set_language(request)


def csrf_failure(request, reason=""):
    """The page of a form refused by the CSRF check (``CSRF_FAILURE_VIEW``), or by the language
    switch, in the site's layout: status 403, translated, and no cookie set.

    Django's own page carries an inline ``<style>`` the site's policy blocks (the browser
    reports it). The reason stays out of the page, a visitor can do nothing with it;
    ``CsrfViewMiddleware`` logs it ("Forbidden (CSRF cookie not set.)").
    """
    return render(request, "403_csrf.html", status=403)
