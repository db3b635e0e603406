"""Reading a ledger file as a spreadsheet writes it: its encoding, its records, its cells.

Any file a spreadsheet writes is read: UTF-8 with or without BOM, UTF-16 or UTF-32 with BOM,
else cp1252 (latin-1 as last resort). A file that mixes UTF-8 rows with rows in another
encoding is refused at the row of its first byte that is not UTF-8, never decoded as mojibake.
An Excel `sep=` first line is dropped (the header tells the delimiter); CRLF or LF line ends. A
quote that is never closed (which would swallow the rows after it into one cell) is an error
that names the row. Binary data (NUL bytes, more than one control character in a hundred) is
refused with a message, never an exception. A leading apostrophe that `export_csv` put before
a cell starting with = + - @ tab or CR (formula neutralising) is removed again by
`unneutralise`, so export -> import gives back the same ledger.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata

from dashapp.services.ledger_fields import LedgerError, RowError

NEUTRALISED = re.compile(r"^'+[=+\-@\t\r]")
# A well-formed UTF-8 sequence of a character past ASCII (2 to 4 bytes).
UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def decode_text(raw: bytes) -> str:
    """The file's text: by its BOM (UTF-8, UTF-16, UTF-32), else UTF-8, else cp1252, else
    latin-1. Raises LedgerError for binary data."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if raw.startswith(bom):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                raise LedgerError(
                    [file_error(f"the file says it is {encoding.upper()} but is not")]
                ) from None
            break
    else:
        if b"\x00" in raw:
            raise LedgerError([_binary_error()])
        text = _single_byte_or_utf8(raw)
    controls = sum(
        1 for char in text if unicodedata.category(char) in ("Cc", "Cs") and char not in "\t\r\n"
    )
    # Text has at most a stray control character; one in a hundred is binary data.
    if "\x00" in text or controls * 100 > len(text):
        raise LedgerError([_binary_error()])
    return text


def unneutralise(cell: str) -> str:
    """Undo `ledger_export.neutralise`: drop one apostrophe before a formula trigger."""
    return cell[1:] if NEUTRALISED.match(cell) else cell


def read_records(text: str, delimiter: str | None) -> list[list[str]]:
    """The file's records. Strict quoting: a quote that is never closed, or a closing quote
    followed by more text, would otherwise swallow the following rows into one cell."""
    records: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter or ",", strict=True)
    try:
        records.extend(reader)
    except csv.Error as error:
        reason = str(error)
        # The record being read when the reader gave up is the one whose quote opened.
        row = len(records) + 1
        if reason == "unexpected end of data":
            message = "row: a quoted cell starts here and its closing quote never comes"
        elif reason.endswith("expected after '\"'"):
            message = (
                "row: a quoted cell starting here is followed by more text before the next "
                'separator; a quote inside a quoted cell is written twice ("")'
            )
        else:
            raise LedgerError([file_error(f"not a readable CSV file ({reason})")]) from None
        raise LedgerError([RowError(row, "row", message)]) from None
    return records


def without_excel_separator(text: str) -> str:
    """Drop Excel's optional first line `sep=;`: the header detection finds the delimiter
    anyway, and a spreadsheet does not show that line as a row."""
    first, _, rest = text.partition("\n")
    if re.fullmatch(r"\s*sep=[,;\t]\s*", first.rstrip("\r")):
        return rest
    return text


def file_error(reason: str) -> RowError:
    """A problem with the file as a whole rather than with one of its rows."""
    return RowError(None, "file", f"file: {reason}")


def _single_byte_or_utf8(raw: bytes) -> str:
    """UTF-8 when the whole file is UTF-8; else cp1252 (latin-1 as last resort), unless some of
    its bytes are UTF-8 text: then the file mixes encodings (rows pasted from two sources), and
    decoding it either way would turn some of its words into mojibake ("CafÃ©"), so it is
    refused at the row of its first byte that is not UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        first_bad = error.start
    if UTF8_MULTIBYTE.search(raw):
        prefix = raw[:first_bad].decode("utf-8", errors="replace")
        raise LedgerError(
            [
                RowError(
                    _row_of_offset(prefix),
                    "row",
                    f"row: the file is UTF-8 elsewhere but byte 0x{raw[first_bad]:02X} here is "
                    "in another encoding: save the whole file as UTF-8 and import it again",
                )
            ]
        )
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _row_of_offset(prefix: str) -> int:
    """The spreadsheet row in which the text after `prefix` lies (the sep= line is no row)."""
    text = without_excel_separator(prefix)
    # A sentinel cell makes the partial record at the end count even when `prefix` ends a line.
    return len(list(csv.reader(io.StringIO(text + "x", newline=""))))


def _binary_error() -> RowError:
    return file_error(
        "it holds binary data, not text: save the spreadsheet as CSV (UTF-8) and try again"
    )
