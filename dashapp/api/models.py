"""The JSON API's bodies as pydantic models: one place for types, limits and their messages.

Request models check what JSON can get wrong (types, sizes, ranges, ASCII digits) and leave the
rules of the domain to the services, which the pages and the import share: a transaction body
is "strings or numbers" here and a valid ledger row only in `services.transactions`, so its
errors keep their per-row shape. Response models describe what the views send; the OpenAPI
document (`api/openapi.py`) is generated from both, and the schemathesis tests check every
response against it.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from dashapp.rules import KINDS, PERIODS, STATES
from dashapp.services.comparison_requests import MAX_BENCHMARKS
from dashapp.services.ledger_fields import MAX_AMOUNT, MAX_NOTE_LENGTH
from dashapp.services.portfolios import MAX_NAME_LENGTH
from dashapp.services.reports import GROUPINGS, METHODS

# Longest text a client may send in a field the services read as a short code or number.
MAX_SHORT_TEXT = 40
TICKER_LIST_LENGTH = MAX_BENCHMARKS * 16
ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


class Body(BaseModel):
    """A request body: a JSON object whose unknown keys are ignored unless a model forbids them."""

    model_config = ConfigDict(extra="ignore")


# ----- requests --------------------------------------------------------------------------------


def _scalar(raw: object) -> object:
    """A ledger field as the services take it: text, a finite number within the ledger's range,
    or null for empty."""
    if raw is None:
        return ""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise PydanticCustomError("scalar", "must be a string or a number")
    if isinstance(raw, int) and abs(raw) > MAX_AMOUNT:
        # Checked before any float() of it: a 400-digit integer does not fit a float.
        raise PydanticCustomError("amount", "must be at most {limit}", {"limit": f"{MAX_AMOUNT:g}"})
    if isinstance(raw, float) and not math.isfinite(raw):
        raise PydanticCustomError("finite", "must be a finite number")
    return raw


def _number(raw: object) -> object:
    """An amount: a number, or text the services parse ("1,234.5"), in ASCII digits only."""
    value = _scalar(raw)
    if isinstance(value, str) and not value.isascii():
        raise PydanticCustomError("ascii", "must be written with ASCII digits")
    return value


def _text(raw: object) -> object:
    """Text fields take numbers too (a ticker like 7203 typed without quotes)."""
    value = _scalar(raw)
    return str(value) if isinstance(value, int | float) else value


def _ledger_text(max_length: int, **schema: Any) -> Any:
    return Annotated[
        str, Field(max_length=max_length, json_schema_extra=schema), BeforeValidator(_text)
    ]


LedgerNumber = Annotated[
    float | Annotated[str, StringConstraints(max_length=MAX_SHORT_TEXT)],
    Field(
        description="a number, or text such as '1,234.5' (ASCII digits only); empty for the "
        "default (fees 0)",
    ),
    BeforeValidator(_number),
]


def _none_is_empty(raw: object) -> object:
    return "" if raw is None else raw


# The services trim and check names (required, at most MAX_NAME_LENGTH, printable) and
# currencies with their own messages; the models bound what reaches them.
Name = Annotated[
    str,
    Field(max_length=MAX_NAME_LENGTH, json_schema_extra={"minLength": 1}),
    BeforeValidator(_none_is_empty),
]


class PortfolioCreate(Body):
    name: Name
    base_currency: Annotated[
        str,
        Field(max_length=MAX_SHORT_TEXT, json_schema_extra={"pattern": "^[A-Za-z]{3}$"}),
        BeforeValidator(lambda raw: "USD" if raw is None else raw),
    ] = "USD"


class PortfolioRename(Body):
    name: Name


class TransactionBody(Body):
    """One ledger row. `date` and `type` (our CSV's names) are accepted for `trade_date` and
    `kind`; the row's rules (dates, sessions, tickers, amounts, the whole ledger) are the
    services', and a row that breaks them answers 400 with `errors`."""

    trade_date: _ledger_text(32, format="date") = Field(
        validation_alias=AliasChoices("trade_date", "date"), examples=["2024-03-01"]
    )
    kind: _ledger_text(MAX_SHORT_TEXT, enum=list(KINDS)) = Field(
        validation_alias=AliasChoices("kind", "type"),
        examples=["BUY"],
        description="any letter case",
    )
    ticker: _ledger_text(MAX_SHORT_TEXT) = Field("", examples=["AAPL"])
    quantity: LedgerNumber = Field("", examples=[10])
    price: LedgerNumber = Field("", examples=[170.5])
    fees: LedgerNumber = ""
    currency: _ledger_text(MAX_SHORT_TEXT) = Field("", description="empty: the base currency")
    note: _ledger_text(MAX_NOTE_LENGTH) = ""


def _upper(raw: object) -> object:
    return raw.strip().upper() if isinstance(raw, str) else raw


def _lower(raw: object) -> object:
    return raw.strip().lower() if isinstance(raw, str) else raw


class PerformanceQuery(Body):
    benchmarks: Annotated[str, Field(max_length=TICKER_LIST_LENGTH)] | None = Field(
        None, description=f"comma-separated ETF tickers, at most {MAX_BENCHMARKS}"
    )
    period: Annotated[Literal[(*PERIODS, "CUSTOM")], BeforeValidator(_upper)] | None = Field(
        None, description="1Y by default; CUSTOM with start (and end); any letter case"
    )
    start: Annotated[str, Field(pattern=ISO_DATE)] | None = None
    end: Annotated[str, Field(pattern=ISO_DATE)] | None = None


class ImportQuery(Body):
    preview: Literal["0", "1", "true", "false"] | None = Field(
        None, description="1 or true: answer what an import would do and store nothing"
    )


class IncomeQuery(Body):
    by: Annotated[Literal[GROUPINGS], BeforeValidator(_lower)] | None = Field(
        None, description="month by default"
    )


class RealizedQuery(Body):
    method: Annotated[Literal[METHODS], BeforeValidator(_lower)] | None = Field(
        None, description="fifo by default"
    )
    year: Annotated[str, Field(pattern=r"^[0-9]{4}$")] | None = Field(
        None, description="one calendar year, from 1900 to this one; all years when left out"
    )


class ImportUpload(BaseModel):
    """multipart/form-data with the CSV file."""

    file: bytes = Field(json_schema_extra={"contentMediaType": "text/csv"})


# ----- responses -------------------------------------------------------------------------------


class Error(BaseModel):
    error: str


class FieldError(Error):
    field: str = Field(description="the parameter or body field at fault")


class RowError(BaseModel):
    row: int | None = Field(description="the spreadsheet row of an import (header is 1)")
    column: str
    message: str


class LedgerErrors(Error):
    errors: list[RowError]


class Portfolio(BaseModel):
    id: int
    name: str
    base_currency: str
    version: int


class Transaction(BaseModel):
    id: int
    trade_date: str = Field(json_schema_extra={"format": "date"})
    kind: Literal[KINDS]
    ticker: str | None
    quantity: float
    price: float
    fees: float
    currency: str
    note: str


class DraftRow(BaseModel):
    """A row as an import preview read it: the file's text, not yet validated."""

    row: int
    trade_date: str
    kind: str | None
    ticker: str | None
    quantity: str | float | None
    price: str | float | None
    fees: str | float | None
    currency: str | None
    note: str | None


class Skipped(BaseModel):
    row: int
    reason: str


class ImportPreview(BaseModel):
    format: str
    rows: list[DraftRow]
    skipped: list[Skipped]
    errors: list[RowError]
    warnings: list[RowError]


class ImportResult(BaseModel):
    format: str
    imported: int
    skipped: list[Skipped]
    version: int


class CorporateAction(BaseModel):
    key: str = Field(description="what POST .../corporate-actions/{key}/accept takes")
    kind: Literal["SPLIT", "DIVIDEND"]
    ticker: str
    trade_date: str = Field(json_schema_extra={"format": "date"})
    quantity: float
    price: float
    shares_held: float
    explanation: str


class Holding(BaseModel):
    ticker: str
    quantity: float
    average_cost: float | None
    price: float | None
    previous_close: float | None
    market_value: float | None
    unrealized_gain: float | None
    weight: float | None
    as_of: str | None = Field(description="ISO 8601 instant of the price")
    fetched_at: str | None
    source: str | None
    freshness: Literal[STATES]
    freshness_reason: str | None


class Totals(BaseModel):
    """Sums over priced holdings (null when none is priced) and over every ticker; `cash` is
    null unless the ledger tracks cash (has deposits or withdrawals)."""

    market_value: float | None
    day_change: float | None
    cost_basis: float | None
    unrealized_gain: float | None
    realized_gain: float | None
    dividends: float | None
    fees: float | None
    total_gain: float | None
    priced_count: int
    missing_count: int
    missing_tickers: list[str]
    cash: float | None


class Holdings(BaseModel):
    portfolio: Portfolio
    as_of: str | None
    demo_data: bool
    holdings: list[Holding]
    totals: Totals


class Performance(BaseModel):
    """Series, metrics and breakdown keyed by portfolio and benchmark names."""

    model_config = ConfigDict(extra="allow")

    series: dict[str, Any] | None
    metrics: dict[str, Any]
    breakdown: dict[str, Any]
    provenance: Any
    warnings: list[str]


class BacktestResult(BaseModel):
    """Equity series, trades, metrics per line and the sweep's grid, from cached prices."""

    model_config = ConfigDict(extra="allow")

    request: dict[str, Any]
    provenance: Any
    missing: list[str]
    warnings: list[str]
    demo_data: bool
    series: dict[str, Any] | None
    trades: list[dict[str, Any]]
    metrics: dict[str, Any]
    sweep: dict[str, Any] | None


class ForwardEstimate(BaseModel):
    amount: float
    estimate: Literal[True]
    basis: str


class IncomeReport(BaseModel):
    """Dividend income in the base currency. `rows` per month or year:
    {"month" | "year", "amount", "holdings": {ticker: amount}}; per holding: {"ticker",
    "amount", "ttm", "forward_estimate", "yield_on_cost", "current_yield"}."""

    currency: str
    by: Literal[GROUPINGS]
    total: float
    rows: list[dict[str, Any]]
    as_of: str = Field(json_schema_extra={"format": "date"})
    ttm: float
    yield_on_cost: float | None
    current_yield: float | None
    forward_estimate: ForwardEstimate


class RealizedSale(BaseModel):
    """One lot of one sale: what it was bought for and when, and the gain."""

    sale_id: int
    date: str = Field(json_schema_extra={"format": "date"})
    ticker: str
    acquired: str = Field(json_schema_extra={"format": "date"})
    quantity: float
    proceeds: float
    cost: float
    gain: float
    holding_days: int
    term: Literal["short", "long"]


class RealizedReport(BaseModel):
    currency: str
    method: Literal[METHODS]
    year: int | None
    total: float
    sales: list[RealizedSale]
