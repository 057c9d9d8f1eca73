"""Reading an import file: decoding it, its CSV records, and the messages about the file.

A file is UTF-8 CSV with a header row. :class:`Records` reads it as a stream and refuses, with
an :class:`ImportFileError` naming the line and, where it can tell, the column, what makes the
whole file unreadable: another encoding (UTF-16 by name), a byte that is not UTF-8, broken
quoting, a header without the required columns or with one twice or a control character. A
mistake in one row is a :class:`RowError`.
"""

import codecs
import csv
import io
import itertools
import re
from dataclasses import dataclass

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""The control characters CSV text never holds (tab and line ends aside)."""
# The same characters in the UTF-8 bytes of a file: they are never part of a longer sequence,
# so a file without them needs no check of each value.
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
""":data:`CONTROL` in the UTF-8 bytes of a file."""


class ImportFileError(Exception):
    """The file as a whole cannot be read: encoding, quoting, missing columns."""


@dataclass(frozen=True)
class RowError:
    """A mistake in one row: its line, the column (or "" for the row as a whole), what is wrong."""

    line: int
    field: str
    message: str

    def __str__(self):
        where = f"line {self.line}"
        return (
            f"{where}, {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class Records:
    """The records of a CSV file, read as a stream: (line number, values).

    ``values`` is the list of the record's values, as wide as the header (trailing empty fields
    left out are filled in), or a message where the record has more fields than the header.
    ``index`` gives each wanted column's position; :meth:`record` makes the dict
    :class:`RowParser` reads. Raises ImportFileError for what makes the whole file unreadable,
    naming the line and, where it can tell, the column.
    """

    def __init__(self, data, required, columns):
        self.data = data
        if _looks_utf16(data):
            raise ImportFileError("the file is UTF-16, not UTF-8; save it as UTF-8 and try again.")
        try:
            # The whole file is checked first (the decoded copy is dropped at once): a file
            # that is not UTF-8 is refused before any of its rows is read.
            data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            raise ImportFileError(
                str(
                    RowError(
                        line,
                        _undecodable_column(data),
                        f"the file is not UTF-8 (byte 0x{data[error.start]:02x}); "
                        "save it as UTF-8 and try again.",
                    )
                )
            ) from None
        # Lines split at \n, \r and \r\n only, ends kept, decoded as they are read.
        stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
        self.reader = csv.reader(stream, strict=True)
        self.header = []
        try:
            header = next(self.reader, None)
        except csv.Error as error:
            raise self._malformed(error, 0) from None
        if header is None:
            raise ImportFileError("the file is empty; it needs a header row.")
        header = self.header = [name.strip().lower() for name in header]
        for index, name in enumerate(header):
            if CONTROL.search(name):
                raise ImportFileError(
                    f"line 1, column {index + 1}: the header contains a control character "
                    "(such as NUL), which CSV text does not; save the file as UTF-8 CSV and "
                    "try again."
                )
        missing = [name for name in required if name not in header]
        if missing:
            raise ImportFileError(f"line 1: missing required column(s): {', '.join(missing)}.")
        positions = {}
        for index, name in enumerate(header):
            if name:
                positions.setdefault(name, []).append(index)
        duplicated = [
            name if name.isprintable() else " and ".join(f"column {i + 1}" for i in at)
            for name, at in sorted(positions.items())
            if len(at) > 1
        ]
        if duplicated:
            raise ImportFileError(f"line 1: column(s) given twice: {', '.join(duplicated)}.")
        self.line = self.reader.line_num
        self.wanted = [(name, index) for index, name in enumerate(header) if name in columns]
        self.index = dict(self.wanted)
        self.width = len(header)

    def __iter__(self):
        reader, width, line = self.reader, self.width, self.line
        try:
            for values in reader:
                start_line, line = line + 1, reader.line_num
                joined = "".join(values)
                if not joined or joined.isspace():
                    continue
                if len(values) > width:
                    yield start_line, f"has {len(values)} fields where the header has {width}"
                    continue
                if len(values) < width:
                    values += [""] * (width - len(values))  # trailing empty fields left out
                yield start_line, values
        except csv.Error as error:
            raise self._malformed(error, line) from None

    def record(self, values):
        """The record dict of ``values`` (``{None: message}`` for a malformed record)."""
        if isinstance(values, str):
            return {None: values}
        return {name: values[index] for name, index in self.wanted}

    def _malformed(self, error, line):
        # Where the record that broke starts: csv itself names the line it gave up on,
        # the end of the file when a quote is never closed.
        lines = io.StringIO(self.data.decode("utf-8-sig"), newline="").readlines()[line:]
        column = _broken_field(lines)
        return ImportFileError(
            str(
                RowError(
                    line + 1,
                    _column_label(self.header, column) if column is not None else "",
                    f"the CSV is malformed ({error}); check its quotes.",
                )
            )
        )


def _column_label(header, index):
    """How a message names the column at ``index`` (from 0): by its name in the header where
    that shows as it is, else by its position ("column 3")."""
    name = header[index] if index < len(header) else ""
    return name if name and name.isprintable() else f"column {index + 1}"


def _looks_utf16(data):
    """Whether ``data`` is UTF-16 text: a byte order mark, or a NUL in every other byte (the
    high bytes of the Latin letters CSV headers and most names are written in)."""
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return True
    sample = data[:1000]
    half = len(sample) // 2
    return half >= 4 and max(sample[0::2].count(0), sample[1::2].count(0)) >= 0.9 * half


def _undecodable_column(data):
    """The column of the first bytes that are not UTF-8, named as :func:`_column_label`
    names it, by position where they are in the header itself ("" if none can tell)."""
    # Each byte that is not UTF-8 decodes to a surrogate of its own: the first of them is
    # the first such byte.
    text = data.decode("utf-8-sig", errors="surrogateescape")
    try:
        header = []
        for number, values in enumerate(csv.reader(io.StringIO(text, newline=""))):
            for index, value in enumerate(values):
                if any("\udc80" <= char <= "\udcff" for char in value):
                    return _column_label(header, index)
            if number == 0:
                header = [name.strip().lower() for name in values]
    except csv.Error:
        pass
    return ""


def _broken_field(lines):
    """Which field (from 0) of the CSV record starting at ``lines[0]`` breaks the quoting:
    a quoted field with text after its closing quote, or one that is never closed.

    The rules are those of ``csv.reader(strict=True)``; None if the record is well formed.
    """
    field, state = 0, "start"
    for char in itertools.chain.from_iterable(lines):
        if state == "quoted":
            if char == '"':
                state = "quote in quoted"
        elif state == "quote in quoted":
            if char == '"':  # a doubled quote stands for one
                state = "quoted"
            elif char == ",":
                field, state = field + 1, "start"
            elif char in "\r\n":
                return None
            else:
                return field
        elif char == ",":
            field, state = field + 1, "start"
        elif char in "\r\n":
            return None
        elif state == "start" and char == '"':
            state = "quoted"
        else:
            state = "unquoted"
    return field if state == "quoted" else None
