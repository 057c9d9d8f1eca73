"""Read a public page as a person sees it: its tables row by row, its messages, its title."""

from html.parser import HTMLParser


class _Page(HTMLParser):
    """The text of every table (by id) cell by cell, the heading, the error messages."""

    def __init__(self):
        super().__init__()
        self.tables = {}
        self.h1 = []
        self.errors = []
        self.texts = {}
        self._table = None
        self._row = None
        self._cell = None
        self._h1 = False
        self._errors = False
        self._error = None
        self._text_id = None
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id", ""), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "h1":
            self._h1 = True
        elif tag == "div" and "errors" in (attrs.get("class") or "").split():
            self._errors = True
        elif tag == "li" and self._errors:
            self._error = []
        if tag == "p" and attrs.get("id"):
            self._text_id = attrs["id"]
            self.texts[self._text_id] = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "h1":
            self._h1 = False
        elif tag == "li" and self._error is not None:
            self.errors.append(" ".join("".join(self._error).split()))
            self._error = None
        elif tag == "div" and self._errors and self._error is None:
            self._errors = False
        elif tag == "p" and self._text_id:
            self.texts[self._text_id] = " ".join("".join(self.texts[self._text_id]).split())
            self._text_id = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._h1:
            self.h1.append(data)
        if self._error is not None:
            self._error.append(data)
        if self._text_id:
            self.texts[self._text_id].append(data)


def page(response):
    parser = _Page()
    parser.feed(response.content.decode())
    return parser


def table(response, table_id="results"):
    """A table as a person reads it: the header row, then one list of cell texts a row."""
    tables = page(response).tables
    assert table_id in tables, f"no table {table_id!r} on the page; there are {sorted(tables)}"
    return tables[table_id]


def rows(response, table_id="results"):
    """The body rows of a table, without its header."""
    return table(response, table_id)[1:]


def column(response, table_id="results", index=0):
    """One column of a table's body rows: the names of a list, by default."""
    return [row[index] for row in rows(response, table_id)]


def heading(response):
    return " ".join("".join(page(response).h1).split())


def errors(response):
    """The messages at the top of a page that could not understand its parameters."""
    return page(response).errors


def text(response, element_id):
    """The text of the paragraph with this id."""
    return page(response).texts[element_id]
