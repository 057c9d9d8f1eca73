"""Nobody in the admin where they do not belong: every kind of user × every admin page of
every registered model, read (GET) and sent (POST), and CSRF on every POST.

Each POST sends what would succeed for someone allowed: a valid new object, a real change,
the delete confirmation, the changelist's destructive action, a revert to an earlier
version. A cell is its status code, with "login" for a redirect to the login page and what
the request did to the record: "added", "changed", "deleted". A cell that names no effect
changed nothing at all: every table is compared before and after. Each request runs in a
savepoint rolled back afterwards, so every cell starts from the same record.
"""

import pytest
from admin_matrix import (
    CSRF_FAILURE,
    MATRIX,
    PAGES,
    USERS,
    make_record,
    make_user,
    outcome,
    payloads,
    urls,
)
from conftest import database_state
from django.contrib import admin
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_matrix_covers_every_model_registered_in_the_admin():
    registered = {model._meta.label for model in admin.site._registry}
    assert (registered - MATRIX.keys(), MATRIX.keys() - registered) == (set(), set())
    for label, rows in MATRIX.items():
        assert sorted(rows) == sorted(USERS), label


# The record the requests act on: one target of each model, free to be deleted (nothing
# protects it), and with an earlier version in its history to revert to.


@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize("label", sorted(MATRIX))
def test_permissions_matrix(client, superuser, label, who):
    targets, others = make_record()
    target = targets[label]
    pages = urls(target)
    posted = payloads(label, target, others, pages)
    user = make_user(who)
    if user:
        client.force_login(user)
    before = database_state()
    cells = []
    for method in ("get", "post"):
        cells.append(
            tuple(
                None
                if pages[page] is None
                else outcome(
                    client,
                    method,
                    pages[page],
                    posted[page] if method == "post" else {},
                    target,
                    before,
                )
                for page in PAGES
            )
        )
    assert tuple(cells) == MATRIX[label][who]


# CSRF: a superuser, who may do everything, sends every POST above without the token.


@pytest.mark.parametrize("label", sorted(MATRIX))
def test_every_admin_post_without_the_csrf_token_is_refused_and_changes_nothing(superuser, label):
    targets, others = make_record()
    target = targets[label]
    pages = urls(target)
    posted = payloads(label, target, others, pages)
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)
    before = database_state()
    cells = {
        page: outcome(client, "post", pages[page], posted[page], target, before)
        for page in PAGES
        if pages[page]
    }
    assert cells == {page: "403 csrf" for page in PAGES if pages[page]}
    # The control: with the token from the form, the same client gets through (a merge
    # changes only by its "Undo").
    page = "changelist" if label == "registry.ImportRun" else "change"
    url, data = pages[page], posted[page]
    if label == "registry.Merge":
        url, data = f"{pages['change'].removesuffix('change/')}undo/", {}
    token = client.get(url).context["csrf_token"]
    data = {**data, "csrfmiddlewaretoken": str(token)}
    assert outcome(client, "post", url, data, target, before) == "302 changed"


def test_logging_in_and_out_needs_the_csrf_token(superuser):
    client = Client(enforce_csrf_checks=True)
    before = database_state()
    response = client.post(
        "/admin/login/", {"username": "boss", "password": "a-long-test-password"}
    )
    assert (response.status_code, CSRF_FAILURE in response.content.decode()) == (403, True)
    assert (client.get("/admin/").status_code, database_state() == before) == (302, True)
    client.force_login(superuser)
    response = client.post("/admin/logout/")
    assert (response.status_code, CSRF_FAILURE in response.content.decode()) == (403, True)
    assert client.get("/admin/").status_code == 200  # still logged in
