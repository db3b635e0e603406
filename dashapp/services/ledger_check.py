"""Whether a whole ledger applies: the holdings calculation run over every row, stored and new.

A SELL may not exceed the shares held on its date, and neither may editing or deleting an
earlier row make a later SELL exceed them (`analytics.holdings.positions` says which row it
refuses). A change is checked as the ledger it would leave, so the same check serves adding,
editing, deleting and importing; an error names the changed row when the change itself breaks
the rule, else the stored row it would break and the change that would do it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from dashapp.analytics.holdings import InvalidTransaction, LedgerLine, ledger_frame, positions
from dashapp.services.ledger_fields import ColumnLabels, LedgerError, RowError
from dashapp.services.ledger_numbers import format_number

MAX_LEDGER_ERRORS = 50
# Ids given to rows not stored yet; they sort after every stored row of the same date, as the
# ids the database will assign them do.
NEW_ID_BASE = 2**62


def check_ledger(
    entries: Sequence[tuple[int, LedgerLine]],
    changed: dict[int, int | None],
    action: str = "this change",
    labels: dict[str, str] | None = None,
) -> None:
    """Raise LedgerError when the ledger `entries` (id, transaction) does not apply, e.g. a SELL
    exceeds the shares held on its date. `changed` maps the ids of new or edited entries to the
    row number their errors carry; an error on any other entry blames `action`.

    Up to MAX_LEDGER_ERRORS rows are reported: after each refused row the check runs again
    without it.
    """
    frame = ledger_frame(entries)
    label = ColumnLabels(labels or {})
    errors: list[RowError] = []
    while len(errors) < MAX_LEDGER_ERRORS:
        try:
            positions(frame)
        except InvalidTransaction as error:
            errors.append(_ledger_row_error(frame, error, changed, action, label))
            frame = frame[frame["id"] != error.row]
            continue
        break
    if errors:
        raise LedgerError(errors)


def _ledger_row_error(
    frame: pd.DataFrame,
    error: InvalidTransaction,
    changed: dict[int, int | None],
    action: str,
    label: ColumnLabels,
) -> RowError:
    """Translate the first row the holdings calculation refused into a sentence."""
    bad = frame[frame["id"] == error.row].iloc[0]
    day = bad["trade_date"].date().isoformat()
    if bad["kind"] == "SELL" and error.column == "quantity":
        earlier = frame[
            (frame["trade_date"] < bad["trade_date"])
            | ((frame["trade_date"] == bad["trade_date"]) & (frame["id"] < bad["id"]))
        ]
        held = positions(earlier)["shares"].get(bad["ticker"], 0.0)
        what = (
            f"sell of {format_number(bad['quantity'])} {bad['ticker']} on {day} exceeds "
            f"the {format_number(held)} shares held then"
        )
    else:
        what = f"{bad['kind']} of {bad['ticker']} on {day}: {error.reason}"
    row_id = int(bad["id"])
    column = label(error.column)
    if row_id in changed:
        return RowError(changed[row_id], column, f"{column}: {what}")
    return RowError(
        None,
        column,
        f"{column}: {action} would leave the {what.replace('exceeds', 'exceeding')} "
        f"(transaction #{row_id})",
    )
