"""Reports of mistakes from the public: a form of its own behind every town's and
partnership's page, which refuses bots (a honeypot, a form sent back too fast, a rate limit)
and other sites, stores a real report for staff and mails them, in English and German."""

import re
import time

import pytest
from admin_pages import table
from conftest import municipality, network, partnership
from django.core import mail
from django.core.cache import cache
from django.test import Client
from pages import errors, heading, text

from registry.corrections import served_token
from registry.models import CorrectionReport

pytestmark = pytest.mark.django_db

THANKS = (
    "The registry's staff will check what you reported about Köln against the sources and "
    "correct the record where it is wrong."
)


@pytest.fixture(autouse=True)
def no_counted_reports():
    """The rate limit counts in the cache, which outlives a test's data."""
    cache.clear()


@pytest.fixture
def koeln():
    return municipality("Köln", slug="koeln")


@pytest.fixture
def link(koeln):
    return partnership(koeln, municipality("Lille", "FR", slug="lille"), start="1958")


@pytest.fixture
def managers(settings):
    settings.CORRECTIONS_EMAIL = ["staff@registry.example"]


def report(**fields):
    """What a person sends: the form filled in, served ten seconds ago."""
    return {
        "text": "The partnership was signed in 1959, not 1958.",
        "source": "https://www.stadt-koeln.de/partnerstaedte",
        "name": "Anna",
        "email": "anna@example.org",
        "website": "",
        "served": served_token(time.time() - 10),
        **fields,
    }


def correction_link(response):
    return re.findall(
        r'<p class="correction">([^<]*)<a href="([^"]+)">([^<]+)</a></p>', response.content.decode()
    )


def test_every_town_partnership_and_network_page_links_its_correction_form(client, koeln, link):
    hanse = network("Neue Hanse", koeln, slug="neue-hanse")
    for url, form in [
        ("/municipalities/koeln/", "/municipalities/koeln/correction/"),
        (f"/partnerships/{link.pk}/", f"/partnerships/{link.pk}/correction/"),
        ("/networks/neue-hanse/", f"/partnerships/{hanse.pk}/correction/"),
    ]:
        assert correction_link(client.get(url)) == [
            ("Something wrong or missing on this page? ", form, "Report a correction")
        ], url
    german = client.get("/municipalities/koeln/", headers={"Accept-Language": "de"})
    assert correction_link(german) == [
        (
            "Ist auf dieser Seite etwas falsch oder fehlt etwas? ",
            "/municipalities/koeln/correction/",
            "Korrektur melden",
        )
    ]


def test_the_detail_pages_stay_cached_and_set_no_cookie_after_a_report(
    koeln, link, managers, django_assert_num_queries
):
    visitor = Client(enforce_csrf_checks=True)
    urls = ["/municipalities/koeln/", f"/partnerships/{link.pk}/"]
    first = {url: visitor.get(url) for url in urls}
    form = visitor.get("/municipalities/koeln/correction/")
    sent = visitor.post("/municipalities/koeln/correction/", report())
    assert sent.status_code == 302 and CorrectionReport.objects.count() == 1
    for url in urls:
        with django_assert_num_queries(0, info=url):
            cached = visitor.get(url)
        assert (cached.content, cached.cookies) == (first[url].content, {})
    assert (form.cookies, sent.cookies) == ({}, {})
    assert "csrfmiddlewaretoken" not in form.content.decode()
    assert "no-store" in form["Cache-Control"]


def test_the_form_page_in_english(client, koeln, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/municipalities/koeln/correction/")
    html = response.content.decode()
    assert response.status_code == 200
    assert heading(response) == "Report a correction: Köln"
    assert text(response, "about") == (
        "Tell the registry's staff what is wrong or missing on the page of Köln. They check "
        "every report against the sources; nothing you write is published."
    )
    labels = re.findall(r'<label for="id_(\w+)">([^<]+)</label>', html)
    assert labels == [
        ("text", "What is wrong?"),
        ("source", "What is right, and where does it say so? (optional)"),
        ("name", "Your name (optional)"),
        ("email", "Your e-mail address (optional)"),
        ("website", "Leave this field empty"),
    ]
    assert '<div class="hp" aria-hidden="true">' in html
    assert re.search(r'<input type="text" name="website"[^>]*tabindex="-1"', html)
    assert re.search(r'<input type="text" name="website"[^>]*autocomplete="off"', html)
    assert 'style="' not in html


def test_the_form_page_in_german(client, link):
    response = client.get(f"/partnerships/{link.pk}/correction/", headers={"Accept-Language": "de"})
    html = response.content.decode()
    assert heading(response) == "Korrektur melden: Köln – Lille"
    assert re.findall(r'<label for="id_(\w+)">([^<]+)</label>', html) == [
        ("text", "Was ist falsch?"),
        ("source", "Was ist richtig, und wo steht das? (freiwillig)"),
        ("name", "Ihr Name (freiwillig)"),
        ("email", "Ihre E-Mail-Adresse (freiwillig)"),
        ("website", "Dieses Feld bitte leer lassen"),
    ]
    assert ">Meldung senden</button>" in html


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_real_report_is_stored_and_mailed_to_staff(client, koeln, managers, language):
    response = client.post(
        "/municipalities/koeln/correction/",
        report(text="  The partnership was signed in 1959, not 1958.  "),
        headers={"Accept-Language": language},
    )
    assert (response.status_code, response["Location"]) == (
        302,
        "/municipalities/koeln/correction/thanks/",
    )
    stored = CorrectionReport.objects.get()
    assert (
        stored.municipality,
        stored.partnership,
        stored.text,
        stored.source,
        stored.name,
        stored.email,
        stored.language,
        stored.status,
        stored.staff_note,
        stored.handled_by,
    ) == (
        koeln,
        None,
        "The partnership was signed in 1959, not 1958.",
        "https://www.stadt-koeln.de/partnerstaedte",
        "Anna",
        "anna@example.org",
        language,
        "new",
        "",
        None,
    )
    (sent,) = mail.outbox
    assert (sent.subject, sent.to, sent.reply_to) == (
        "Correction reported: Köln",
        ["staff@registry.example"],
        ["anna@example.org"],
    )
    assert sent.body == (
        "Köln: http://testserver/municipalities/koeln/\n\n"
        "What is wrong:\nThe partnership was signed in 1959, not 1958.\n\n"
        "What is right, and where it says so:\nhttps://www.stadt-koeln.de/partnerstaedte\n\n"
        "From: Anna <anna@example.org>\n"
        f"Language: {language}\n\n"
        f"In the admin: http://testserver/admin/registry/correctionreport/{stored.pk}/change/"
    )
    thanks = client.get(response["Location"], headers={"Accept-Language": language})
    if language == "en":
        assert (heading(thanks), text(thanks, "thanks")) == ("Thank you for your report", THANKS)
    else:
        assert (heading(thanks), text(thanks, "thanks")) == (
            "Vielen Dank für Ihre Meldung",
            "Die Mitarbeiter des Registers prüfen Ihre Meldung zu Köln anhand der Quellen und "
            "berichtigen den Eintrag, wo er falsch ist.",
        )


def test_a_report_on_a_partnership_needs_only_what_is_wrong(client, link, managers):
    response = client.post(
        f"/partnerships/{link.pk}/correction/",
        report(source="", name="", email=""),
    )
    assert response["Location"] == f"/partnerships/{link.pk}/correction/thanks/"
    stored = CorrectionReport.objects.get()
    assert (stored.municipality, stored.partnership, stored.name, stored.email) == (
        None,
        link,
        "",
        "",
    )
    (sent,) = mail.outbox
    assert (sent.subject, sent.reply_to) == ("Correction reported: Köln – Lille", [])
    assert "From: —\n" in sent.body


def test_without_recipients_a_report_is_stored_and_nobody_mailed(client, koeln, settings):
    settings.CORRECTIONS_EMAIL, settings.MANAGERS = [], []
    assert client.post("/municipalities/koeln/correction/", report()).status_code == 302
    assert (CorrectionReport.objects.count(), mail.outbox) == (1, [])


def test_the_managers_are_mailed_when_no_corrections_address_is_set(client, koeln, settings):
    settings.CORRECTIONS_EMAIL, settings.MANAGERS = [], [("Boss", "boss@registry.example")]
    client.post("/municipalities/koeln/correction/", report())
    assert [message.to for message in mail.outbox] == [["boss@registry.example"]]


def test_a_mail_that_fails_loses_no_report(client, koeln, managers, monkeypatch, caplog):
    def fail(self, fail_silently=False):
        raise OSError("Connection refused")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", fail)
    response = client.post("/municipalities/koeln/correction/", report())
    assert response.status_code == 302
    stored = CorrectionReport.objects.get()
    assert f"The mail about correction report {stored.pk} could not be sent." in caplog.text


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_bot_that_fills_the_honeypot_is_thanked_and_nothing_is_stored(
    client, koeln, managers, language
):
    response = client.post(
        "/municipalities/koeln/correction/",
        report(website="https://cheap-pills.example"),
        headers={"Accept-Language": language},
    )
    assert (response.status_code, response["Location"]) == (
        302,
        "/municipalities/koeln/correction/thanks/",
    )
    assert (CorrectionReport.objects.count(), mail.outbox) == (0, [])


@pytest.mark.parametrize(
    ("language", "message"),
    [
        (
            "en",
            "This form came back within seconds of being opened. Check it, then send it again.",
        ),
        (
            "de",
            "Dieses Formular kam Sekunden nach dem Öffnen zurück. Bitte prüfen und noch einmal "
            "senden.",
        ),
    ],
)
def test_a_form_sent_back_at_once_is_shown_again_and_nothing_is_stored(
    client, koeln, managers, language, message
):
    form = client.get("/municipalities/koeln/correction/")
    served = re.search(r'name="served" value="([^"]+)"', form.content.decode())[1]
    response = client.post(
        "/municipalities/koeln/correction/",
        report(served=served),
        headers={"Accept-Language": language},
    )
    assert response.status_code == 400
    assert errors(response) == [message]
    assert "The partnership was signed in 1959, not 1958.</textarea>" in response.content.decode()
    assert (CorrectionReport.objects.count(), mail.outbox) == (0, [])


def test_a_form_without_its_time_served_is_refused(client, koeln):
    for served in ["", "forged", served_token(time.time() - 2 * 24 * 60 * 60)]:
        response = client.post("/municipalities/koeln/correction/", report(served=served))
        assert (response.status_code, errors(response)) == (
            400,
            ["This form is too old or came incomplete. Check it, then send it again."],
        )
    assert not CorrectionReport.objects.exists()


@pytest.mark.parametrize(
    ("language", "messages"),
    [
        (
            "en",
            [
                "What is wrong?: Say what is wrong: this field is required.",
                "Your e-mail address (optional): Enter a valid email address.",
            ],
        ),
        (
            "de",
            [
                "Was ist falsch?: Bitte sagen Sie, was falsch ist: Dieses Feld ist erforderlich.",
                "Ihre E-Mail-Adresse (freiwillig): Bitte gültige E-Mail-Adresse eingeben.",
            ],
        ),
    ],
)
def test_an_invalid_report_is_refused_with_messages_and_nothing_is_stored(
    client, koeln, managers, language, messages
):
    response = client.post(
        "/municipalities/koeln/correction/",
        report(text="   ", email="anna@"),
        headers={"Accept-Language": language},
    )
    assert response.status_code == 400
    assert errors(response) == messages
    assert (CorrectionReport.objects.count(), mail.outbox) == (0, [])


def test_a_text_too_long_is_refused(client, koeln):
    response = client.post("/municipalities/koeln/correction/", report(text="x" * 5001))
    assert errors(response) == [
        "What is wrong?: Ensure this value has at most 5000 characters (it has 5001)."
    ]
    assert not CorrectionReport.objects.exists()


def test_more_reports_than_the_limit_from_one_address_are_refused_with_429(
    client, koeln, managers, settings
):
    settings.CORRECTIONS_PER_HOUR = 3
    statuses = [
        client.post("/municipalities/koeln/correction/", report(text=f"Mistake {n}")).status_code
        for n in range(3)
    ]
    refused = client.post("/municipalities/koeln/correction/", report(text="One too many"))
    assert statuses == [302, 302, 302]
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 3600
    minutes = -(-int(refused["Retry-After"]) // 60)
    unit = "minute" if minutes == 1 else "minutes"
    assert errors(refused) == [
        "This address has sent 3 reports within the hour, the most the registry takes. "
        f"Please send this one again in {minutes} {unit}."
    ]
    assert "One too many</textarea>" in refused.content.decode()
    assert sorted(CorrectionReport.objects.values_list("text", flat=True)) == [
        "Mistake 0",
        "Mistake 1",
        "Mistake 2",
    ]
    assert len(mail.outbox) == 3
    # Another address is not held back; in German the message says so in German.
    other = client.post("/municipalities/koeln/correction/", report(), REMOTE_ADDR="198.51.100.7")
    assert other.status_code == 302
    german = client.post(
        "/municipalities/koeln/correction/", report(), headers={"Accept-Language": "de"}
    )
    assert errors(german)[0].startswith(
        "Von dieser Adresse kamen in dieser Stunde 3 Meldungen, mehr nimmt das Register nicht an."
    )


def test_behind_the_proxy_the_limit_counts_the_clients_address(client, koeln, settings):
    settings.CORRECTIONS_PER_HOUR, settings.BEHIND_PROXY = 1, True
    first = client.post(
        "/municipalities/koeln/correction/", report(), HTTP_X_FORWARDED_FOR="203.0.113.5"
    )
    second = client.post(
        "/municipalities/koeln/correction/", report(), HTTP_X_FORWARDED_FOR="203.0.113.6"
    )
    third = client.post(
        "/municipalities/koeln/correction/", report(), HTTP_X_FORWARDED_FOR="203.0.113.5"
    )
    assert [first.status_code, second.status_code, third.status_code] == [302, 302, 429]


@pytest.mark.parametrize(
    "url",
    [
        "/municipalities/nowhere/correction/",
        "/municipalities/nowhere/correction/thanks/",
        "/partnerships/999999/correction/",
        "/partnerships/999999/correction/thanks/",
    ],
)
def test_the_form_of_a_subject_that_is_not_there_is_a_404(client, url):
    assert client.get(url).status_code == 404
    if not url.endswith("thanks/"):
        assert client.post(url, report()).status_code == 404
    assert not CorrectionReport.objects.exists()


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://elsewhere.example"},
    ],
)
def test_a_report_sent_from_another_site_is_refused(koeln, managers, headers):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/municipalities/koeln/correction/", report(), headers=headers)
    assert response.status_code == 403
    assert "CSRF verification failed. Request aborted." in response.content.decode()
    assert (CorrectionReport.objects.count(), mail.outbox, response.cookies) == (0, [], {})


def test_a_report_sent_from_the_form_itself_needs_no_token(koeln):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/municipalities/koeln/correction/",
        report(),
        headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"},
    )
    assert response.status_code == 302
    assert CorrectionReport.objects.count() == 1


def test_the_form_takes_no_parameters_and_other_methods_are_refused(client, koeln):
    response = client.get("/municipalities/koeln/correction/?ref=x")
    assert (response.status_code, errors(response)) == (
        400,
        ["This page has no parameter “ref”; it takes none."],
    )
    assert client.put("/municipalities/koeln/correction/").status_code == 405
    assert client.post("/municipalities/koeln/correction/thanks/").status_code == 405


def test_posting_a_report_runs_two_queries(client, koeln, django_assert_num_queries):
    with django_assert_num_queries(2):  # the town, the report
        client.post("/municipalities/koeln/correction/", report())
    with django_assert_num_queries(1):
        client.get("/municipalities/koeln/correction/thanks/")


# The admin


@pytest.fixture
def reports(koeln, link):
    made = [
        CorrectionReport.objects.create(municipality=koeln, text="Wrong population", language="en"),
        CorrectionReport.objects.create(
            partnership=link, text="Signed in 1959", language="de", status="done"
        ),
    ]
    return made


@pytest.mark.parametrize("count", [1, 3])
def test_an_editor_lists_the_reports_with_their_subjects(
    editor_client, koeln, link, count, django_assert_num_queries
):
    for n in range(count):
        CorrectionReport.objects.create(municipality=koeln, text=f"Town {n}", language="en")
        CorrectionReport.objects.create(partnership=link, text=f"Link {n}", language="de")
    with django_assert_num_queries(7):
        response = editor_client.get("/admin/registry/correctionreport/")
    rows = table(response)
    assert rows[0] == ["Reported at", "Subject", "What is wrong", "Status", "Handled by"]
    assert sorted(row[1:] for row in rows[1:]) == sorted(
        [["municipality: Köln", f"Town {n}", "new", "-"] for n in range(count)]
        + [["partnership: Köln – Lille", f"Link {n}", "new", "-"] for n in range(count)]
    )


def test_the_list_is_filtered_by_status(editor_client, reports):
    response = editor_client.get("/admin/registry/correctionreport/?status__exact=done")
    assert [row[2] for row in table(response)[1:]] == ["Signed in 1959"]


def test_an_editor_marks_a_report_done_with_a_note(editor_client, editor, reports):
    wrong = reports[0]
    url = f"/admin/registry/correctionreport/{wrong.pk}/change/"
    form = editor_client.get(url)
    fingerprint = re.search(r'name="state_fingerprint" value="([^"]+)"', form.content.decode())[1]
    response = editor_client.post(
        url,
        {"status": "done", "staff_note": "Population corrected", "state_fingerprint": fingerprint},
    )
    assert response.status_code == 302
    wrong.refresh_from_db()
    assert (wrong.status, wrong.staff_note, wrong.handled_by, wrong.text) == (
        "done",
        "Population corrected",
        editor,
        "Wrong population",
    )
    assert wrong.handled_at is not None


def test_a_reviewer_sees_the_reports_but_changes_nothing(reviewer_client, reports):
    assert len(table(reviewer_client.get("/admin/registry/correctionreport/"))) == 3
    url = f"/admin/registry/correctionreport/{reports[0].pk}/change/"
    assert reviewer_client.get(url).status_code == 200
    assert reviewer_client.post(url, {"status": "rejected"}).status_code == 403
    reports[0].refresh_from_db()
    assert reports[0].status == "new"


def test_nobody_adds_a_report_in_the_admin(client, superuser):
    client.force_login(superuser)
    assert client.get("/admin/registry/correctionreport/add/").status_code == 403
