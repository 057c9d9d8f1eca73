"""Importing a file in the admin, in a real browser: log in, upload, read the dry run's
report, confirm, land on the run. No console error or CSP violation on the way (open_browser
checks)."""

import pytest
from conftest import staff_user
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CSV = (
    "municipality_a,country_a,municipality_b,country_b,start\n"
    "Köln,DE,Atlantis-on-Sea,FR,1958\n"
    "Bonn,DE,Nowhere,XX,1960\n"
)


@pytest.fixture
def editor_login(record):
    """An Editor (made before the browser opens: the ORM does not run beside it)."""
    staff_user("editor", group="Editors")
    return {"username": "editor", "password": "a-long-test-password"}


def test_an_editor_uploads_checks_and_imports_a_file(
    editor_login, open_browser, screenshot, tmp_path
):
    file = tmp_path / "partners.csv"
    file.write_text(CSV, encoding="utf-8")
    page = open_browser()
    page.goto("/admin/login/?next=/admin/registry/importrun/")
    page.get_by_label("Username").fill(editor_login["username"])
    page.get_by_label("Password").fill(editor_login["password"])
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Import a file").click()
    page.get_by_label("Kind of file").select_option("partnerships")
    page.get_by_label("CSV file").set_input_files(file)
    page.get_by_role("button", name="Check (dry run)").click()
    expect(page.locator("#upload-errors caption")).to_have_text("1 problem")
    expect(page.locator("#upload-errors tbody tr td").nth(0)).to_have_text("3")
    expect(page.locator("#upload-errors tbody tr td").nth(1)).to_have_text("country_b")
    expect(page.get_by_role("row", name="Rows read 2")).to_be_visible()
    screenshot(page, "admin-import-dry-run")
    page.get_by_role(
        "button", name="Import the 1 good row, leave out the rows with problems"
    ).click()
    expect(page.locator(".messagelist")).to_contain_text("Imported “partners.csv” as this run.")
    expect(page.locator(".field-partnerships_created .readonly")).to_have_text("1")
    expect(page.locator(".field-user .readonly")).to_have_text("editor")
    screenshot(page, "admin-import-run")
