"""Numbers as a ledger's cells write them, and as its messages show them.

A cell holds a plain decimal with an optional thousands comma ("1,234.5", "1e3"), or, in a
European spreadsheet (cells separated by ';'), a decimal comma with optional '.' thousands
("1.234,5"). Messages show a number with ten significant digits, so 10 stays "10" and 0.3
stays "0.3".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# re.ASCII: \d would also match digits such as "١٢٣" or "１", which float() then reads.
NUMBER_PATTERN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?$", re.ASCII)
THOUSANDS_PATTERN = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$", re.ASCII)


@dataclass(frozen=True)
class NumberStyle:
    """How numbers are written: '.' decimals with optional ',' thousands, or ',' decimals with
    optional '.' thousands (European spreadsheets, which then separate cells with ';')."""

    decimal_comma: bool = False


POINT_DECIMALS = NumberStyle()
COMMA_DECIMALS = NumberStyle(decimal_comma=True)


def parse_number(raw: object, style: NumberStyle = POINT_DECIMALS) -> float | None:
    """A finite number from a cell, or None when it is not one: '1234.5', '1,234.5', '1e3';
    with decimal commas '1234,5' and '1.234,5'."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        value = float(raw)
        return value if math.isfinite(value) else None
    if not isinstance(raw, str):
        return None
    text = raw.strip().replace("\u00a0", "").replace(" ", "")
    if style.decimal_comma:
        if re.fullmatch(r"[+-]?\d{1,3}(\.\d{3})+(,\d*)?", text):
            text = text.replace(".", "")
        if text.count(".") or text.count(",") > 1:
            return None
        text = text.replace(",", ".")
    elif THOUSANDS_PATTERN.match(text):
        text = text.replace(",", "")
    if not NUMBER_PATTERN.match(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def format_number(value: float) -> str:
    """A number as the messages show it: 10, 10.5, 0.3 (ten significant digits)."""
    return format(value, ".10g")
