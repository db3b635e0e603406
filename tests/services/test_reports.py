"""Income and realized-gains reports over a real database: hand-worked figures, the demo
portfolio, CSV files, and a ledger that still refuses edits no lot could cover."""

from __future__ import annotations

from datetime import date

import pytest

from dashapp.services.demo import seed_demo_portfolio
from dashapp.services.portfolios import InvalidInput, PortfolioNotFound, create_portfolio
from dashapp.services.reports import (
    PeriodIncome,
    RealizedLot,
    RealizedYear,
    income_csv,
    income_report,
    parse_grouping,
    parse_method,
    parse_year,
    realized_csv,
    realized_report,
    report_filename,
    reports,
)
from dashapp.services.transactions import (
    LedgerError,
    TransactionDraft,
    add_transaction,
    delete_transaction,
    list_transactions,
    update_transaction,
)

TODAY = date(2024, 12, 4)  # the test clock's day in New York


@pytest.fixture
def portfolio_id(app_context) -> int:
    """KO: two lots, dividends, a sale over both lots. MSFT: one lot, partly sold in 2023."""
    portfolio = create_portfolio(app_context, "Income <b>test</b>", "USD")
    for draft in (
        TransactionDraft("2022-03-01", "BUY", "KO", "10", "60", "1"),  # lot 601
        TransactionDraft("2023-01-03", "BUY", "MSFT", "5", "240", "0"),  # lot 1,200
        TransactionDraft("2023-04-03", "DIVIDEND", "KO", "10", "0.46"),  # 4.60
        TransactionDraft("2023-05-01", "SELL", "MSFT", "2", "300", "1"),  # 599 - 480 = 119
        TransactionDraft("2023-09-01", "BUY", "KO", "10", "62", "1"),  # lot 621
        TransactionDraft("2024-04-01", "DIVIDEND", "KO", "20", "0.485"),  # 9.70
        TransactionDraft("2024-06-03", "SELL", "KO", "16", "70", "2"),  # proceeds 1,118
        TransactionDraft("2024-10-01", "DIVIDEND", "KO", "4", "0.485"),  # 1.94
    ):
        add_transaction(app_context, portfolio.id, draft)
    return portfolio.id


def test_realized_fifo_over_two_lots_and_two_years(app_context, portfolio_id):
    # KO's sale of 16: lot 1 all 10 (weight 0.625): 698.75 - 601 = 97.75, long term;
    # 6 of lot 2 (0.375): 419.25 - 6 * 62.1 = 46.65, short term.
    report = realized_report(app_context, portfolio_id, "fifo")
    assert report.currency == "USD"
    assert report.method == "fifo"
    assert report.total == pytest.approx(263.4)  # 119 + 97.75 + 46.65
    sale_ids = sorted({lot.sale_id for lot in report.lots})
    assert [_rounded(lot) for lot in report.lots] == [
        RealizedLot(
            sale_ids[0],
            date(2023, 5, 1),
            "MSFT",
            date(2023, 1, 3),
            2.0,
            599.0,
            480.0,
            119.0,
            118,
            False,
        ),
        RealizedLot(
            sale_ids[1],
            date(2024, 6, 3),
            "KO",
            date(2022, 3, 1),
            10.0,
            698.75,
            601.0,
            97.75,
            825,
            True,
        ),
        RealizedLot(
            sale_ids[1],
            date(2024, 6, 3),
            "KO",
            date(2023, 9, 1),
            6.0,
            419.25,
            372.6,
            46.65,
            276,
            False,
        ),
    ]
    assert [_rounded(year) for year in report.years] == [
        RealizedYear(2023, 599.0, 480.0, 119.0, 119.0, 0.0, 1),
        RealizedYear(2024, 1118.0, 973.6, 144.4, 46.65, 97.75, 1),
    ]
    assert [lot.ticker for lot in report.lots_of(2024)] == ["KO", "KO"]


def test_realized_average_and_one_year(app_context, portfolio_id):
    # KO's pool before the sale: 1,222 for 20 shares, so the 16 cost 977.6: gain 140.4.
    report = realized_report(app_context, portfolio_id, "average", 2024)
    assert report.year == 2024
    assert report.total == pytest.approx(140.4)
    assert [round(lot.cost, 6) for lot in report.lots] == [611.0, 366.6]
    assert [year.year for year in report.years] == [2024]
    assert realized_report(app_context, portfolio_id, "average", 2022).lots == ()
    assert realized_report(app_context, portfolio_id, "average", 2022).total == 0.0


def test_income_by_month_year_and_holding(app_context, portfolio_id):
    report = income_report(app_context, portfolio_id)
    assert report.currency == "USD"
    assert report.as_of == TODAY
    assert report.total == pytest.approx(16.24)
    assert report.by_month == (
        PeriodIncome("2023-04", pytest.approx(4.6), {"KO": pytest.approx(4.6)}),
        PeriodIncome("2024-04", pytest.approx(9.7), {"KO": pytest.approx(9.7)}),
        PeriodIncome("2024-10", pytest.approx(1.94), {"KO": pytest.approx(1.94)}),
    )
    assert [(year.period, round(year.amount, 2)) for year in report.by_year] == [
        ("2023", 4.6),
        ("2024", 11.64),
    ]
    # TTM to 2024-12-04: 9.70 + 1.94, paid on 20 and then 4 shares. Per share held now that is
    # 0.485 + 0.485, so the estimate for the 4 KO left is 3.88. Cost bases (average cost, as the
    # dashboard): KO 1,222 - 977.6 = 244.4, MSFT 1,200 - 480 = 720. No price is cached, so no
    # current yield.
    assert report.ttm == pytest.approx(11.64)
    assert report.yield_on_cost == pytest.approx(3.88 / 964.4)
    assert report.current_yield is None
    assert report.forward_estimate == pytest.approx(4 * (0.485 + 0.485))
    ko, msft = report.by_holding
    assert (ko.ticker, msft.ticker) == ("KO", "MSFT")
    assert ko.yield_on_cost == pytest.approx(3.88 / 244.4)  # not 11.64 / 244.4: KO was sold
    assert (msft.amount, msft.ttm, msft.yield_on_cost) == (0.0, 0.0, 0.0)


def test_reports_read_both_from_one_ledger(app_context, portfolio_id):
    both = reports(app_context, portfolio_id, "average")
    assert both.income.total == pytest.approx(16.24)
    assert both.realized.method == "average"
    assert both.realized.total == pytest.approx(259.4)  # 119 + 140.4
    assert both.income.portfolio.name == "Income <b>test</b>"


def test_csv_files_round_to_the_cent_and_name_the_method(app_context, portfolio_id):
    income = income_report(app_context, portfolio_id)
    assert income_csv(income, "month") == (
        "month,amount,currency\n2023-04,4.60,USD\n2024-04,9.70,USD\n2024-10,1.94,USD\n"
    )
    assert income_csv(income, "year") == "year,amount,currency\n2023,4.60,USD\n2024,11.64,USD\n"
    assert income_csv(income, "holding").splitlines() == [
        "ticker,amount,ttm,forward_estimate,yield_on_cost,current_yield,currency",
        "KO,16.24,11.64,3.88,0.015876,,USD",
        "MSFT,0.00,0.00,0.00,0.000000,,USD",
    ]
    realized = realized_report(app_context, portfolio_id, "fifo", 2024)
    assert realized_csv(realized).splitlines() == [
        "date,ticker,acquired,quantity,proceeds,cost,gain,holding_days,term,method,currency",
        "2024-06-03,KO,2022-03-01,10,698.75,601.00,97.75,825,long,fifo,USD",
        "2024-06-03,KO,2023-09-01,6,419.25,372.60,46.65,276,short,fifo,USD",
    ]
    assert (
        report_filename(realized, "realized") == f"portfolio-{portfolio_id}-realized-fifo-2024.csv"
    )
    assert (
        report_filename(income, "income-by-month")
        == f"portfolio-{portfolio_id}-income-by-month.csv"
    )


def test_demo_reports_several_years_of_income_and_a_sale(app_context):
    portfolio_id = seed_demo_portfolio(app_context)
    income = income_report(app_context, portfolio_id)
    dividends = [
        row for row in list_transactions(app_context, portfolio_id) if row.kind == "DIVIDEND"
    ]
    by_rows = sum(row.quantity * row.price - row.fees for row in dividends)
    assert round(income.total, 2) == round(by_rows, 2)
    assert round(sum(month.amount for month in income.by_month), 2) == round(by_rows, 2)
    assert [year.period for year in income.by_year] == [
        "2019",
        "2020",
        "2021",
        "2022",
        "2023",
        "2024",
    ]
    realized = realized_report(app_context, portfolio_id, "fifo")
    # AAPL's sale of 170: the 2019 lot's 160 shares (40 before the 4:1 split), 10 of 2024's.
    assert [(lot.ticker, lot.date, lot.quantity, lot.long_term) for lot in realized.lots] == [
        ("JNJ", date(2024, 9, 16), 10.0, True),
        ("AAPL", date(2024, 11, 18), 160.0, True),
        ("AAPL", date(2024, 11, 18), 10.0, False),
    ]
    average = realized_report(app_context, portfolio_id, "average")
    assert average.total != pytest.approx(realized.total)
    assert sum(lot.proceeds for lot in average.lots) == pytest.approx(
        sum(lot.proceeds for lot in realized.lots)
    )


def test_a_split_a_later_sale_relies_on_cannot_be_deleted_or_shrunk(app_context):
    portfolio_id = create_portfolio(app_context, "Split").id
    add_transaction(
        app_context, portfolio_id, TransactionDraft("2024-03-01", "BUY", "KO", "10", "60")
    )
    split = add_transaction(
        app_context, portfolio_id, TransactionDraft("2024-04-01", "SPLIT", "KO", "2")
    )
    add_transaction(
        app_context, portfolio_id, TransactionDraft("2024-05-01", "SELL", "KO", "15", "35")
    )
    before = realized_report(app_context, portfolio_id, "fifo")
    assert before.total == pytest.approx(75.0)  # 525 - 15 * 30
    with pytest.raises(LedgerError, match="exceeding the 10 shares held then"):
        delete_transaction(app_context, portfolio_id, split.id)
    with pytest.raises(LedgerError, match="exceeding the 12 shares held then"):
        update_transaction(
            app_context,
            portfolio_id,
            split.id,
            TransactionDraft("2024-04-01", "SPLIT", "KO", "1.2"),
        )
    assert realized_report(app_context, portfolio_id, "fifo") == before


def test_unknown_portfolio_is_not_found(app_context):
    with pytest.raises(PortfolioNotFound):
        income_report(app_context, 999)
    with pytest.raises(PortfolioNotFound):
        realized_report(app_context, 999)


@pytest.mark.parametrize(
    ("raw", "field"),
    [("lifo", "method"), ("", None), ("AVERAGE", None)],
)
def test_methods_are_named_or_refused(raw, field):
    if field is None:
        assert parse_method(raw) in ("fifo", "average")
        return
    with pytest.raises(InvalidInput) as refused:
        parse_method(raw)
    assert refused.value.field == field


@pytest.mark.parametrize("raw", ["20x4", "24", "1899", "2025", "２０２４", "2024.0"])
def test_a_year_is_four_digits_up_to_this_one(raw):
    with pytest.raises(InvalidInput) as refused:
        parse_year(raw, TODAY)
    assert refused.value.field == "year"


def test_a_missing_year_means_every_year_and_groupings_are_checked():
    assert parse_year(None, TODAY) is None
    assert parse_year(" ", TODAY) is None
    assert parse_year("2024", TODAY) == 2024
    assert parse_year("1900", TODAY) == 1900
    assert parse_grouping(None) == "month"
    assert parse_grouping("Holding") == "holding"
    with pytest.raises(InvalidInput) as refused:
        parse_grouping("week")
    assert refused.value.field == "by"


def _rounded(value):
    """A dataclass with its floats rounded to 6 places, to compare with hand-worked figures."""
    fields = {
        name: round(item, 6) if isinstance(item, float) else item
        for name, item in vars(value).items()
    }
    return type(value)(**fields)
