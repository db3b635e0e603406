"""Persisting upstream requests into `fetch_log` and counting them back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select

from dashapp.db.engine import Database
from dashapp.db.models import FetchLog
from dashapp.market.providers import UpstreamRequest


class FetchLogRecorder:
    """A RequestRecorder that writes each upstream request to `fetch_log` as it happens.

    One small insert per request keeps the log true even when the process dies mid-batch;
    requests are at most a few per second, so this costs nothing that matters.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, request: UpstreamRequest) -> None:
        with self.db.session() as session:
            session.execute(insert(FetchLog).values(**_row(request)))


def _row(request: UpstreamRequest) -> dict[str, object]:
    return {
        "provider": request.provider,
        "kind": request.kind,
        "tickers": ",".join(request.tickers),
        "started_at": request.started_at,
        "duration_ms": round(request.duration_s * 1000.0, 3),
        "outcome": request.outcome,
    }


def count_requests(db: Database, since: datetime | None = None, provider: str | None = None) -> int:
    query = select(func.count()).select_from(FetchLog)
    if since is not None:
        query = query.where(FetchLog.started_at >= since)
    if provider is not None:
        query = query.where(FetchLog.provider == provider)
    with db.session() as session:
        return int(session.execute(query).scalar_one())
