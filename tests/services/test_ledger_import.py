"""CSV import: the three formats are recognised, any spreadsheet encoding is read, a preview
shows what will happen, and an import stores every row or none."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashapp.services.context import build_context
from dashapp.services.ledger_import import (
    ImportTooLarge,
    SkippedRow,
    import_transactions,
    preview_import,
)
from dashapp.services.portfolios import create_portfolio, get_portfolio
from dashapp.services.transactions import (
    LedgerError,
    RowError,
    TransactionDraft,
    add_transaction,
    check_tickers,
    list_transactions,
)
from tests.conftest import make_settings

HEADER = "date,type,ticker,quantity,price,fees,currency,note"
YAHOO_HEADER = (
    "Symbol,Current Price,Date,Time,Change,Open,High,Low,Volume,Trade Date,Purchase Price,"
    "Quantity,Commission,High Limit,Low Limit,Comment"
)
GHOSTFOLIO_HEADER = "Date,Code,DataSource,Currency,Price,Quantity,Action,Fee,Note"
BINARY_MESSAGE = (
    "file: it holds binary data, not text: save the spreadsheet as CSV (UTF-8) and try again"
)


@pytest.fixture
def portfolio_id(app_context) -> int:
    return create_portfolio(app_context, "Imported").id


def ours(*rows: str, newline: str = "\n") -> bytes:
    return newline.join([HEADER, *rows, ""]).encode()


def stored(app_context, portfolio_id: int) -> list[tuple]:
    return [
        (t.trade_date, t.kind, t.ticker, t.quantity, t.price, t.fees, t.currency, t.note)
        for t in list_transactions(app_context, portfolio_id)
    ]


def import_errors(app_context, portfolio_id: int, raw: bytes) -> list[RowError]:
    with pytest.raises(LedgerError) as caught:
        import_transactions(app_context, portfolio_id, raw, "ledger.csv")
    return caught.value.errors


def test_our_format_imports_every_kind(app_context, portfolio_id):
    raw = ours(
        "2024-01-02,DEPOSIT,,1,10000,0,USD,opening",
        "2024-01-03,BUY,aapl,10,185.5,1,USD,",
        "2024-02-09,DIVIDEND,AAPL,10,0.24,,,",
        "2024-03-01,SPLIT,AAPL,2,,,,",
        "2024-03-04,SELL,AAPL,5,180,1,USD,half",
        "2024-03-05,FEE,,0,0,5,,custody",
        "2024-03-06,WITHDRAWAL,,1,500,0,USD,",
    )
    result = import_transactions(app_context, portfolio_id, raw, "ledger.csv")
    assert (result.format, result.imported, result.skipped, result.version) == (
        "stocktracker",
        7,
        (),
        2,
    )
    assert stored(app_context, portfolio_id) == [
        (date(2024, 1, 2), "DEPOSIT", None, 1.0, 10000.0, 0.0, "USD", "opening"),
        (date(2024, 1, 3), "BUY", "AAPL", 10.0, 185.5, 1.0, "USD", ""),
        (date(2024, 2, 9), "DIVIDEND", "AAPL", 10.0, 0.24, 0.0, "USD", ""),
        (date(2024, 3, 1), "SPLIT", "AAPL", 2.0, 0.0, 0.0, "USD", ""),
        (date(2024, 3, 4), "SELL", "AAPL", 5.0, 180.0, 1.0, "USD", "half"),
        (date(2024, 3, 5), "FEE", None, 0.0, 0.0, 5.0, "USD", "custody"),
        (date(2024, 3, 6), "WITHDRAWAL", None, 1.0, 500.0, 0.0, "USD", ""),
    ]


def test_yahoo_export_imports_lots_as_buys_and_skips_watchlist_rows(app_context, portfolio_id):
    raw = "\r\n".join(
        [
            YAHOO_HEADER,
            "MSFT,430.6,2024/12/04,4:00pm EST,2.1,428,431,427,1000,20240102,370.87,3,1.5,,,first lot",
            "SPY,607.7,2024/12/04,4:00pm EST,1.2,605,608,604,1000,,,,,,,",
            "MSFT,430.6,2024/12/04,4:00pm EST,2.1,428,431,427,1000,20240603,415,2,,,,",
            "$$CASH_TX,,,,,,,,,20240102,,1000,,,,",
            "",
        ]
    ).encode()
    preview = preview_import(app_context, portfolio_id, raw, "quotes.csv")
    assert (preview.format, preview.format_label) == ("yahoo", "Yahoo Finance portfolio export")
    assert preview.skipped == (
        SkippedRow(3, "SPY has no Trade Date or Quantity: a watchlist row"),
        SkippedRow(5, "$$CASH_TX is a Yahoo cash row, not a transaction"),
    )
    assert [row.row for row in preview.rows] == [2, 4]
    assert preview.errors == ()
    result = import_transactions(app_context, portfolio_id, raw, "quotes.csv")
    assert result.imported == 2
    assert stored(app_context, portfolio_id) == [
        (date(2024, 1, 2), "BUY", "MSFT", 3.0, 370.87, 1.5, "USD", "first lot"),
        (date(2024, 6, 3), "BUY", "MSFT", 2.0, 415.0, 0.0, "USD", ""),
    ]


def test_ghostfolio_export_maps_actions_and_day_first_dates(app_context, portfolio_id):
    raw = "\n".join(
        [
            GHOSTFOLIO_HEADER,
            "01-03-2024,Account Opening Fee,MANUAL,USD,0,0,fee,49,",
            "16/09/2024,MSFT,YAHOO,USD,298.580,5,buy,19.00,My first order",
            "2024-11-14T00:00:00.000Z,MSFT,YAHOO,USD,0.83,5,dividend,0.00,",
            "20241115,MSFT,YAHOO,USD,420,2,SELL,1,",
            "18.11.2024,Savings account,MANUAL,USD,12.5,1,interest,0,",
            "19-11-2024,Penthouse,MANUAL,USD,500000,1,item,0,",
        ]
    ).encode()
    preview = preview_import(app_context, portfolio_id, raw, "ghostfolio.csv")
    assert preview.format == "ghostfolio"
    assert preview.skipped == (SkippedRow(7, "a Ghostfolio ITEM has no equivalent in a ledger"),)
    import_transactions(app_context, portfolio_id, raw, "ghostfolio.csv")
    assert stored(app_context, portfolio_id) == [
        (date(2024, 3, 1), "FEE", None, 0.0, 0.0, 49.0, "USD", "Account Opening Fee"),
        (date(2024, 9, 16), "BUY", "MSFT", 5.0, 298.58, 19.0, "USD", "My first order"),
        (date(2024, 11, 14), "DIVIDEND", "MSFT", 5.0, 0.83, 0.0, "USD", ""),
        (date(2024, 11, 15), "SELL", "MSFT", 2.0, 420.0, 1.0, "USD", ""),
        (date(2024, 11, 18), "DEPOSIT", None, 1.0, 12.5, 0.0, "USD", "Savings account"),
    ]


@pytest.mark.parametrize(
    ("raw", "label"),
    [
        ((HEADER + "\n2024-03-01,BUY,KO,10,60.5,0,USD,Café\n").encode("utf-8-sig"), "UTF-8 BOM"),
        ((HEADER + "\n2024-03-01,BUY,KO,10,60.5,0,USD,Café\n").encode("cp1252"), "cp1252"),
        (
            (
                HEADER.replace(",", "\t") + "\r\n2024-03-01\tBUY\tKO\t10\t60.5\t0\tUSD\tCafé\r\n"
            ).encode("utf-16"),
            "Excel Unicode text: UTF-16 with BOM, tabs",
        ),
        (
            (HEADER.replace(",", ";") + "\r\n2024-03-01;BUY;KO;10;60,5;0;USD;Café\r\n").encode(
                "utf-8-sig"
            ),
            "European Excel: semicolons and decimal commas",
        ),
        (
            (
                "sep=;\r\n"
                + HEADER.replace(",", ";")
                + '\r\n2024-03-01;BUY;KO;"10";"60,50";"0,00";USD;"Café"\r\n'
            ).encode("cp1252"),
            "Excel's sep= line, quoted cells",
        ),
    ],
)
def test_spreadsheet_encodings_and_delimiters_are_read(app_context, portfolio_id, raw, label):
    import_transactions(app_context, portfolio_id, raw, "ledger.csv")
    assert stored(app_context, portfolio_id) == [
        (date(2024, 3, 1), "BUY", "KO", 10.0, 60.5, 0.0, "USD", "Café")
    ], label


def test_decimal_commas_with_thousands_points(app_context, portfolio_id):
    raw = (HEADER.replace(",", ";") + "\n2024-03-01;DEPOSIT;;1;1.234,5;0;;\n").encode()
    import_transactions(app_context, portfolio_id, raw, "ledger.csv")
    assert stored(app_context, portfolio_id)[0][4] == 1234.5


def test_one_bad_row_among_a_hundred_imports_nothing(app_context, portfolio_id):
    rows = [f"2024-03-{4 + i % 5:02d},BUY,AAPL,1,100,0,USD,lot {i}" for i in range(100)]
    rows[50] = "2024-03-04,BUY,AAPL,one,100,0,USD,bad"
    errors = import_errors(app_context, portfolio_id, ours(*rows))
    # The 51st data row is spreadsheet row 52.
    assert errors == [RowError(52, "quantity", "quantity: 'one' is not a number")]
    assert stored(app_context, portfolio_id) == []
    assert get_portfolio(app_context, portfolio_id).version == 1
    rows[50] = "2024-03-04,BUY,AAPL,1,100,0,USD,good"
    assert import_transactions(app_context, portfolio_id, ours(*rows), "x.csv").imported == 100
    assert get_portfolio(app_context, portfolio_id).version == 2


def test_errors_name_each_bad_row_and_the_files_own_column(app_context, portfolio_id):
    raw = "\n".join(
        [
            YAHOO_HEADER,
            "MSFT,1,,,,,,,,20240102,370,3,,,,",
            "AAPL,1,,,,,,,,20241207,190,x,,,,",
            "KO,1,,,,,,,,2024010,60,1,,,,",
        ]
    ).encode()
    assert import_errors(app_context, portfolio_id, raw) == [
        RowError(
            3,
            "Trade Date",
            "Trade Date: 2024-12-07 is in the future (today is 2024-12-04 in New York)",
        ),
        RowError(3, "Quantity", "Quantity: 'x' is not a number"),
        RowError(4, "Trade Date", "Trade Date: '2024010' is not a date (YYYY-MM-DD)"),
    ]


def test_oversell_is_checked_against_the_stored_ledger_too(app_context, portfolio_id):
    add_transaction(
        app_context, portfolio_id, TransactionDraft("2024-03-01", "BUY", "AAPL", "10", "100")
    )
    raw = ours("2024-03-04,SELL,AAPL,6,110,0,,", "2024-03-05,SELL,AAPL,6,110,0,,")
    assert import_errors(app_context, portfolio_id, raw) == [
        RowError(
            3, "quantity", "quantity: sell of 6 AAPL on 2024-03-05 exceeds the 4 shares held then"
        )
    ]
    assert len(stored(app_context, portfolio_id)) == 1


def test_formula_neutralising_apostrophes_are_removed(app_context, portfolio_id):
    raw = ours(
        '2024-03-01,BUY,AAPL,1,100,0,USD,\'=HYPERLINK("http://x")',
        "2024-03-01,BUY,AAPL,1,100,0,USD,'tis",
    )
    import_transactions(app_context, portfolio_id, raw, "ledger.csv")
    assert [row[-1] for row in stored(app_context, portfolio_id)] == [
        '=HYPERLINK("http://x")',
        "'tis",
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "file: the file is empty"),
        (b"\r\n\r\n", "file: the file is empty"),
        (bytes(range(256)), BINARY_MESSAGE),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", BINARY_MESSAGE),
        (b"PK\x03\x04\x14\x00\x06\x00", BINARY_MESSAGE),
        (
            b"when,what\n2024-01-01,x\n",
            "file: the header row 'when,what' is not one we know: use our format "
            "(date,type,ticker,quantity,price,fees,currency,note), a Yahoo Finance portfolio "
            "export or a Ghostfolio activities CSV",
        ),
        (HEADER.encode() + b"\n", "file: there are no transactions in it"),
    ],
)
def test_unreadable_files_are_a_ledger_error(app_context, portfolio_id, raw, message):
    assert [e.message for e in import_errors(app_context, portfolio_id, raw)] == [message]
    assert preview_import(app_context, portfolio_id, raw, "x").errors[0].message == message


def test_size_and_row_limits_have_clear_messages(app_context, portfolio_id):
    app_context.settings = replace(app_context.settings, max_import_bytes=200, max_import_rows=2)
    rows = ours(*["2024-03-01,BUY,AAPL,1,100,0,USD,"] * 3)
    with pytest.raises(ImportTooLarge) as caught:
        import_transactions(app_context, portfolio_id, rows, "x.csv")
    assert caught.value.errors == [
        RowError(
            None,
            "file",
            "file: the file has 3 data rows; the limit is 2 rows: split it into smaller files",
        )
    ]
    with pytest.raises(ImportTooLarge) as caught:
        import_transactions(
            app_context, portfolio_id, ours("2024-03-01,BUY,AAPL,1,100,0,USD," + "x" * 200), "x.csv"
        )
    assert caught.value.errors[0].message == (
        "file: the file is larger than the limit of 200 bytes; split it into smaller files"
    )


def test_a_row_with_more_cells_than_the_header_is_refused(app_context, portfolio_id):
    raw = ours("2024-03-01,BUY,AAPL,1,100,0,USD,note,extra,,")
    assert import_errors(app_context, portfolio_id, raw) == [
        RowError(2, "row", "row: has 11 cells but the header has 8")
    ]


def test_preview_stores_nothing_and_warns_of_duplicates_and_unknown_tickers(
    app_context, portfolio_id
):
    first = add_transaction(
        app_context, portfolio_id, TransactionDraft("2024-03-01", "BUY", "AAPL", "10", "100")
    )
    check_tickers(app_context, ["ZZZZQ"])
    raw = ours("2024-03-01,BUY,AAPL,10,100,0,USD,", "2024-03-04,BUY,ZZZZQ,1,5,0,USD,")
    preview = preview_import(app_context, portfolio_id, raw, "again.csv")
    assert preview.can_import
    assert preview.warnings == (
        RowError(
            2,
            "row",
            f"row: repeats transaction #{first.id} already in the ledger (2024-03-01 BUY 10 AAPL)",
        ),
        RowError(None, "ticker", "ticker: the market data provider does not know ZZZZQ"),
    )
    assert preview.tickers == ("AAPL", "ZZZZQ")
    assert preview.rows[1].draft == TransactionDraft(
        "2024-03-04", "BUY", "ZZZZQ", "1", "5", "0", "USD", ""
    )
    assert len(stored(app_context, portfolio_id)) == 1
    assert get_portfolio(app_context, portfolio_id).version == 2


def test_preview_lists_the_errors_the_import_would_raise(app_context, portfolio_id):
    raw = ours("2024-11-30,BUY,AAPL,1,100,0,USD,", "2024-03-01,BUY,AAPL,1,100,0,EUR,")
    preview = preview_import(app_context, portfolio_id, raw, "x.csv")
    assert not preview.can_import
    assert [(e.row, e.column) for e in preview.errors] == [(2, "date"), (3, "currency")]
    assert preview.errors[0].message == (
        "date: 2024-11-30 is a Saturday, not an XNYS session; the trade maps to session 2024-12-02"
    )


# ----- fuzzing: SQLite only, one context per test --------------------------------------------

CELLS = {
    "date": ["2024-03-01", "2024-03-02", "2024-12-05", "2024-13-01", "", "2023-06-15"],
    "type": ["BUY", "SELL", "DIVIDEND", "SPLIT", "DEPOSIT", "FEE", "buy", "HOLD", ""],
    "ticker": ["AAPL", "MSFT", "", "BAD TICKER", "=CMD", "^GSPC"],
    "quantity": ["10", "5", "0", "-1", "1,5", "abc", "", "1e400", "0.5"],
    "price": ["100", "0", "-2", "", "x", "12.75"],
    "fees": ["", "0", "1", "-1"],
    "currency": ["", "USD", "EUR", "usd"],
}
TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=8)

# Rows that are usually valid (an import of several succeeds now and then) mixed with rows
# whose cells are anything from the lists above or random text.
valid_row = st.fixed_dictionaries(
    {
        "date": st.sampled_from(["2024-03-01", "2023-06-15", "2024-12-04"]),
        "type": st.sampled_from(["BUY", "buy", "DEPOSIT", "DIVIDEND"]),
        "ticker": st.sampled_from(["AAPL", "msft", "BRK-B", "^GSPC"]),
        "quantity": st.sampled_from(["10", "0.5", "1,000"]),
        "price": st.sampled_from(["100", "12.75", "0"]),
        "fees": st.sampled_from(["", "0", "1.5"]),
        "currency": st.sampled_from(["", "USD", "usd"]),
        "note": TEXT,
    }
)
any_row = st.fixed_dictionaries(
    {name: st.one_of(st.sampled_from(values), TEXT) for name, values in CELLS.items()}
    | {"note": st.text(max_size=12)}
)
fuzz_row = st.one_of(valid_row, valid_row, any_row)


@pytest.fixture
def fuzz_context(tmp_path, sqlite_url, clock):
    context = build_context(make_settings(tmp_path, sqlite_url), clock=clock)
    yield context
    context.close()


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER.split(","))
    writer.writerows([row[name] for name in HEADER.split(",")] for row in rows)
    return buffer.getvalue().encode("utf-8", errors="surrogatepass")


def assert_all_or_nothing(context, raw: bytes) -> None:
    # Portfolio names are unique: each example gets a fresh one in the shared context.
    portfolio_id = create_portfolio(context, f"Fuzz {uuid.uuid4().hex[:8]}").id
    try:
        result = import_transactions(context, portfolio_id, raw, "fuzz.csv")
    except LedgerError as error:
        assert error.errors
        assert all(isinstance(e.message, str) and e.message for e in error.errors)
        assert list_transactions(context, portfolio_id) == []
        assert get_portfolio(context, portfolio_id).version == 1
    else:
        assert len(list_transactions(context, portfolio_id)) == result.imported > 0
        assert get_portfolio(context, portfolio_id).version == 2


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(fuzz_row, min_size=1, max_size=12))
def test_fuzzed_rows_import_all_or_nothing(fuzz_context, rows):
    assert_all_or_nothing(fuzz_context, csv_bytes(rows))


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    prefix=st.sampled_from(
        [b"", HEADER.encode() + b"\n", b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n"]
    ),
    body=st.binary(max_size=400),
)
def test_fuzzed_bytes_are_an_error_or_an_import_never_an_exception(fuzz_context, prefix, body):
    assert_all_or_nothing(fuzz_context, prefix + body)


@pytest.mark.parametrize(
    "raw",
    [b"a" * 200_000, HEADER.encode() + b'\n"' + b"x" * 200_000, b"date\x00type" * 10],
)
def test_oversized_cells_and_nul_bytes_are_a_ledger_error(app_context, portfolio_id, raw):
    assert import_errors(app_context, portfolio_id, raw)[0].column == "file"


def test_a_eur_portfolio_takes_eur_rows_and_names_its_currency_when_refusing_others(
    app_context,
):
    portfolio_id = create_portfolio(app_context, "Depot", "eur").id
    # Ours: an empty currency is the base currency; Yahoo's export has no currency column.
    import_transactions(
        app_context,
        portfolio_id,
        ours("2024-01-02,BUY,SAP.DE,2,150,1,,", "2024-01-03,BUY,ASML.AS,1,600,0,eur,"),
        "mine.csv",
    )
    yahoo = "\n".join(
        [YAHOO_HEADER, "ALV.DE,270,2024/12/04,5:35pm CET,1,269,271,268,100,20240603,250,4,2,,,"]
    ).encode()
    import_transactions(app_context, portfolio_id, yahoo, "quotes.csv")
    assert stored(app_context, portfolio_id) == [
        (date(2024, 1, 2), "BUY", "SAP.DE", 2.0, 150.0, 1.0, "EUR", ""),
        (date(2024, 1, 3), "BUY", "ASML.AS", 1.0, 600.0, 0.0, "EUR", ""),
        (date(2024, 6, 3), "BUY", "ALV.DE", 4.0, 250.0, 2.0, "EUR", ""),
    ]
    # A Ghostfolio export in dollars is refused row by row, in the file's own column name.
    ghostfolio = "\n".join(
        [
            GHOSTFOLIO_HEADER,
            "2024-09-16,MSFT,YAHOO,USD,430,5,buy,1,",
            "2024-09-17,SAP.DE,YAHOO,EUR,200,1,buy,1,",
        ]
    ).encode()
    assert import_errors(app_context, portfolio_id, ghostfolio) == [
        RowError(
            2,
            "Currency",
            "Currency: USD differs from the portfolio's base currency EUR; record the amounts "
            "in EUR",
        )
    ]
    assert len(list_transactions(app_context, portfolio_id)) == 3


def test_a_column_named_twice_is_an_error_naming_it(app_context, portfolio_id):
    raw = b"date,type,ticker,quantity,price,fees,currency,note,Price\n" + (
        b"2024-03-01,BUY,KO,10,60.5,0,USD,,61\n"
    )
    assert import_errors(app_context, portfolio_id, raw) == [
        RowError(1, "header", "header: names price more than once; keep one column of each name")
    ]
    assert preview_import(app_context, portfolio_id, raw, "x.csv").errors[0].row == 1
    assert stored(app_context, portfolio_id) == []


def test_an_unterminated_quote_is_an_error_at_its_row_not_a_swallowed_row(
    app_context, portfolio_id
):
    raw = ours(
        "2024-03-01,BUY,KO,10,60.5,0,USD,first",
        '2024-03-01,BUY,KO,1,60.5,0,USD,"a note with one quote',
        "2024-03-04,BUY,PEP,2,170,0,USD,would vanish into the note",
    )
    assert import_errors(app_context, portfolio_id, raw) == [
        RowError(3, "row", "row: a quoted cell starts here and its closing quote never comes")
    ]
    assert stored(app_context, portfolio_id) == []


def test_a_quote_closed_in_a_later_row_is_an_error_at_the_row_it_opened(app_context, portfolio_id):
    raw = ours(
        '2024-03-01,BUY,KO,1,60.5,0,USD,"stray',
        '2024-03-04,BUY,PEP,2,170,0,USD,"closed" here',
    )
    [error] = import_errors(app_context, portfolio_id, raw)
    assert (error.row, error.column) == (2, "row")
    assert "followed by more text" in error.message


def test_a_quoted_note_over_two_lines_is_still_one_cell(app_context, portfolio_id):
    raw = ours('2024-03-01,BUY,KO,1,60.5,0,USD,"two\nlines"', "2024-03-04,BUY,PEP,2,170,0,USD,")
    import_transactions(app_context, portfolio_id, raw, "ledger.csv")
    assert [row[-1] for row in stored(app_context, portfolio_id)] == ["two\nlines", ""]


def test_a_file_mixing_utf8_and_cp1252_rows_is_refused_at_the_first_cp1252_row(
    app_context, portfolio_id
):
    raw = (
        ours("2024-03-01,BUY,KO,1,60.5,0,USD,Café", "2024-03-01,BUY,KO,1,60.5,0,USD,plain")
        + "2024-03-04,BUY,PEP,2,170,0,USD,Café\n".encode("cp1252")
        + "2024-03-05,BUY,PEP,2,170,0,USD,Café\n".encode()
    )
    assert import_errors(app_context, portfolio_id, raw) == [
        RowError(
            4,
            "row",
            "row: the file is UTF-8 elsewhere but byte 0xE9 here is in another encoding: "
            "save the whole file as UTF-8 and import it again",
        )
    ]
    assert stored(app_context, portfolio_id) == []


def test_a_mixed_file_after_an_excel_sep_line_counts_rows_as_the_spreadsheet_does(
    app_context, portfolio_id
):
    raw = b"sep=,\n" + ours("2024-03-01,BUY,KO,1,60.5,0,USD,Café") + "Zoë\n".encode("cp1252")
    assert [e.row for e in import_errors(app_context, portfolio_id, raw)] == [3]


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_a_file_in_one_encoding_is_never_mojibake(app_context, portfolio_id, encoding):
    raw = (HEADER + "\n2024-03-01,BUY,KO,1,60.5,0,USD,Café Zoë naïve €\n").encode(encoding)
    import_transactions(app_context, portfolio_id, raw, "ledger.csv")
    assert stored(app_context, portfolio_id)[0][-1] == "Café Zoë naïve €"


def test_the_row_limit_counts_data_rows_not_the_header(app_context, portfolio_id):
    app_context.settings = replace(app_context.settings, max_import_rows=2)
    rows = ["2024-03-01,BUY,AAPL,1,100,0,USD,"] * 2
    # Header, two data rows and blank lines: exactly at the limit.
    raw = ours(*rows).replace(b"\n", b"\n\n")
    assert import_transactions(app_context, portfolio_id, raw, "x.csv").imported == 2
