"""gunicorn's master migrates the schema once, before it forks; its workers send no DDL."""

from __future__ import annotations

from sqlalchemy import create_engine

from dashapp.db.migrate import schema_state
from tests.production.ddl import ddl_by_process, probe_env
from tests.production.stack import get, start_gunicorn, wait_until

WORKERS = 2


def healthy(base: str) -> bool:
    try:
        return get(f"{base}/healthz", timeout=5)[0] == 200
    except OSError:
        return False


def test_gunicorn_master_migrates_once_and_its_workers_never(tmp_path, database_url):
    record = tmp_path / "ddl.log"
    env = {
        "MARKET_DATA": "demo",
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "schema-test",
        **probe_env(record),
    }
    server = start_gunicorn(tmp_path, env, workers=WORKERS)
    try:
        wait_until(lambda: len(server.booted_workers()) == WORKERS, 120, "workers booting")
        wait_until(lambda: healthy(server.base), 60, "/healthz answering 200")
        workers = server.booted_workers()
    finally:
        server.stop()

    by_process = ddl_by_process(record)
    # The master is the process started (`python -m gunicorn`); the workers are its forks.
    assert set(by_process) == {server.process.pid}, (by_process, workers)
    assert not set(workers) & set(by_process)
    engine = create_engine(database_url)
    try:
        assert schema_state(engine).at_head
    finally:
        engine.dispose()
