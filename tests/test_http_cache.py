"""ETags and 304s on the JSON API's GETs, and read-model answers that follow every change."""

from __future__ import annotations

from sqlalchemy import update

from dashapp import context_of
from dashapp.db.models import Quote
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache


def demo_portfolio(app) -> int:
    context = context_of(app)
    portfolio_id = seed_demo_portfolio(context)
    warm_demo_cache(context, portfolio_id)
    return portfolio_id


def test_holdings_answer_is_tagged_and_a_current_copy_gets_304(app, client):
    portfolio_id = demo_portfolio(app)
    url = f"/api/portfolios/{portfolio_id}/holdings"
    first = client.get(url)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    again = client.get(url)
    assert again.get_json() == first.get_json()
    assert again.headers["ETag"] == etag
    unchanged = client.get(url, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.get_data() == b""


def test_holdings_answer_follows_a_new_price(app, client):
    portfolio_id = demo_portfolio(app)
    url = f"/api/portfolios/{portfolio_id}/holdings"
    first = client.get(url)
    with context_of(app).db.session() as session:
        session.execute(update(Quote).where(Quote.ticker == "KO").values(price=99.5))
    changed = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != first.headers["ETag"]
    ko = next(row for row in changed.get_json()["holdings"] if row["ticker"] == "KO")
    assert ko["price"] == 99.5


def test_any_api_get_is_tagged(app, client):
    demo_portfolio(app)
    first = client.get("/api/portfolios")
    assert first.status_code == 200 and first.headers.get("ETag")
    assert (
        client.get("/api/portfolios", headers={"If-None-Match": first.headers["ETag"]}).status_code
        == 304
    )


def test_errors_are_neither_tagged_nor_cached(app, client):
    missing = client.get("/api/portfolios/999999/holdings")
    assert missing.status_code == 404
    assert "ETag" not in missing.headers
    bad = client.get("/api/portfolios/1/performance?period=FOREVER")
    assert bad.status_code in (400, 404)
    assert "ETag" not in bad.headers
