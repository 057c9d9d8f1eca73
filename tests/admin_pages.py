"""Reading what the admin shows, and posting its forms back as a browser would: helpers of the
admin's tests."""

import re
from html.parser import HTMLParser

from conftest import a_source
from django.test import Client


class _Table(HTMLParser):
    """The text of every cell of the table with id ``table_id``, row by row, header first.

    The action checkbox column is left out: it has no text, and staff without an action
    do not get it.
    """

    def __init__(self, table_id):
        super().__init__()
        self.table_id = table_id
        self.rows = []
        self._in_table = False
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("id", self.table_id) in attrs:
            self._in_table = True
        elif self._in_table and tag == "tr":
            self._row = []
        elif self._in_table and tag in ("td", "th") and self._row is not None:
            classes = (dict(attrs).get("class") or "").split()
            self._cell = None if {"action-checkbox", "action-checkbox-column"} & {*classes} else []

    def handle_endtag(self, tag):
        if not self._in_table:
            return
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "table":
            self._in_table = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def table(response, table_id="result_list"):
    """A table as a person reads it, the changelist by default: titles, then one list a row."""
    assert response.status_code == 200
    parser = _Table(table_id)
    parser.feed(response.content.decode())
    return parser.rows


def page_messages(response):
    """The messages at the top of the page, as (level, text), the text as sent in the HTML."""
    html = response.content.decode()
    return re.findall(
        r'<li class="(\w+)">(.*?)</li>',
        html.partition('class="messagelist"')[2].partition("</ul>")[0],
    )


def form_data(response):
    """The POST data of the admin form in ``response``, unchanged: fields and inline forms."""
    forms = [response.context["adminform"].form]
    for inline in response.context.get("inline_admin_formsets", []):
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    data = {}
    for form in forms:
        for field in form:
            value = field.value()
            if value is None or value is False:
                continue
            if value is True:
                data[field.html_name] = "on"
            elif isinstance(value, list | tuple):
                data[field.html_name] = [str(item) for item in value]
            else:
                data[field.html_name] = str(value)
    return data


def form_errors(response):
    """The messages on the main form, by field; ``__all__`` for those on the whole form."""
    assert response.status_code == 200
    return {
        name: list(messages) for name, messages in response.context["adminform"].form.errors.items()
    }


def inline_errors(response):
    """The messages on the rows of every inline, by formset prefix, for the inlines with any."""
    errors = {}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        row_errors = [
            {name: list(messages) for name, messages in form.errors.items()} for form in formset
        ]
        if any(row_errors) or formset.non_form_errors():
            errors[formset.prefix] = row_errors
    return errors


def form_data_as(user, url):
    """The unchanged form at ``url`` as ``user`` would receive it, from a client of their own."""
    client = Client()
    client.force_login(user)
    return form_data(client.get(url))


def empty_inlines(data, **totals):
    """Set the inline management forms of an add form to ``totals`` rows (zero when not given)."""
    for prefix in ("memberships", "kind_changes", "status_changes", "events"):
        data[f"{prefix}-TOTAL_FORMS"] = str(totals.get(prefix, 0))
    return data


ADD = "/admin/registry/partnership/add/"


def change_url(obj):
    return f"/admin/registry/{obj._meta.model_name}/{obj.pk}/change/"


def add_form(client, **values):
    """The partnership add form with ``values`` filled in and no inline rows, and a source
    unless ``values`` say otherwise (the admin saves no partnership without)."""
    data = empty_inlines(form_data(client.get(ADD)))
    data["sources"] = str(a_source().pk)
    data.update({name: str(value) for name, value in values.items()})
    return data
