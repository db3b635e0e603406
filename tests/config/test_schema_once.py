"""The schema is migrated once per deployment, by `python -m dashapp.db upgrade`, `python app.py`
or gunicorn's master; importing the app, a Celery worker and the clock never migrate.

Which process sent DDL is recorded by tests/production/ddl.py's probe.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, inspect

from dashapp.db.engine import make_engine
from dashapp.db.migrate import SchemaNotReady, schema_state, upgrade_to_head, wait_for_head
from dashapp.db.models import Base
from tests.conftest import TEST_REDIS_URL
from tests.production.ddl import ddl_by_process, probe_env
from tests.servers import ROOT

# Every table of the models, and Alembic's own.
TABLES = {*Base.metadata.tables, "alembic_version"}


def environment(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "MARKET_DATA": "demo",
        "SECRET_KEY": "schema-test",
        "LOG_LEVEL": "WARNING",
        **probe_env(tmp_path / "ddl.log"),
        **extra,
    }


def run(arguments: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *arguments], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def tables(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def at_head(database_url: str) -> bool:
    engine = create_engine(database_url)
    try:
        return schema_state(engine).at_head
    finally:
        engine.dispose()


def test_building_the_app_as_gunicorn_does_leaves_an_empty_database_empty(tmp_path, database_url):
    built = run(["-c", "import app; app.server"], environment(tmp_path, database_url))
    assert built.returncode == 0, built.stderr
    assert tables(database_url) == set()
    assert ddl_by_process(tmp_path / "ddl.log") == {}


def test_importing_app_builds_nothing(tmp_path, database_url):
    imported = run(
        ["-c", "import app; assert 'server' not in vars(app)"],
        environment(tmp_path, database_url),
    )
    assert imported.returncode == 0, imported.stderr
    assert not (tmp_path / "instance").exists()


def test_db_upgrade_migrates_to_head_once(tmp_path, database_url):
    env = environment(tmp_path, database_url)
    before = run(["-m", "dashapp.db", "current"], env)
    assert before.returncode == 1
    assert before.stdout.startswith("the database schema is at no revision (an empty database)")

    upgraded = run(["-m", "dashapp.db", "upgrade"], env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.startswith("database schema: empty -> ")
    assert tables(database_url) == TABLES
    assert at_head(database_url)
    created = sum(ddl_by_process(tmp_path / "ddl.log").values())
    assert created >= len(TABLES)

    again = run(["-m", "dashapp.db", "upgrade"], env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("database schema: already at ")
    assert sum(ddl_by_process(tmp_path / "ddl.log").values()) == created
    assert run(["-m", "dashapp.db", "current"], env).returncode == 0


def test_db_upgrade_against_an_unreachable_database_is_one_line(tmp_path):
    dead = "postgresql+psycopg://postgres@127.0.0.1:1/stocktracker"
    failed = run(["-m", "dashapp.db", "upgrade"], environment(tmp_path, dead))
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines() == [
        "StockTracker cannot upgrade the database: DATABASE_URL: cannot connect to 127.0.0.1:1 "
        '(connection failed: connection to server at "127.0.0.1", port 1 failed: '
        "Connection refused)"
    ]


def test_prepare_only_migrates_and_seeds_the_demo_then_exits(tmp_path):
    env = environment(tmp_path, "")
    del env["DATABASE_URL"]
    prepared = run(["app.py", "--demo", "--prepare-only"], env)
    assert prepared.returncode == 0, prepared.stderr
    demo_database = f"sqlite:///{tmp_path / 'instance' / 'demo' / 'stocktracker.db'}"
    assert at_head(demo_database)
    engine = create_engine(demo_database)
    try:
        with engine.connect() as connection:
            names = connection.exec_driver_sql("SELECT name FROM portfolios").scalars().all()
            bars = connection.exec_driver_sql("SELECT count(*) FROM price_bars").scalar()
    finally:
        engine.dispose()
    assert names == ["Demo portfolio"]
    assert bars > 0


def test_a_job_never_migrates_and_says_who_does(tmp_path, sqlite_url):
    refused = run(
        ["-m", "dashapp.jobs", "--run", "refresh"],
        environment(tmp_path, sqlite_url, SCHEMA_WAIT_SECONDS="0"),
    )
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "StockTracker jobs cannot start: the database schema is at no revision (an empty "
        f"database), this code needs {schema_head()} and nothing migrated it within 0 s "
        "(SCHEMA_WAIT_SECONDS): run `python -m dashapp.db upgrade`, or start the web (its "
        "gunicorn master migrates)"
    ]
    assert tables(sqlite_url) == set()


def schema_head() -> str:
    engine = create_engine("sqlite://")
    try:
        return schema_state(engine).head
    finally:
        engine.dispose()


@pytest.mark.redis
@pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL is not set")
def test_a_celery_worker_waits_for_the_schema_and_never_migrates(tmp_path, sqlite_url):
    """Started before anything migrated (as honcho may start it), the worker waits and says
    so; once `python -m dashapp.db upgrade` ran, it starts without sending any DDL."""
    redis.Redis.from_url(TEST_REDIS_URL).delete("stocktracker:deployment:market_data")
    env = environment(tmp_path, sqlite_url, REDIS_URL=TEST_REDIS_URL, LOG_LEVEL="INFO")
    log = tmp_path / "worker.log"
    with log.open("w") as output:
        worker = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "app:celery", "worker", "--pool=solo"),
                *("--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"),
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_line(log, "Celery worker: waiting for the database schema", worker)
        assert tables(sqlite_url) == set()
        upgraded = run(["-m", "dashapp.db", "upgrade"], env)
        assert upgraded.returncode == 0, upgraded.stderr
        wait_for_line(log, " ready.", worker)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert "Celery worker: the database schema is at " in log.read_text()
    assert worker.pid not in ddl_by_process(tmp_path / "ddl.log")


def wait_for_line(log: Path, text: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in log.read_text():
            return
        assert process.poll() is None, f"the worker stopped:\n{log.read_text()[-3000:]}"
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in the worker's output:\n{log.read_text()[-3000:]}")


def test_a_waiting_process_starts_once_another_migrated(tmp_path, sqlite_url):
    engine = make_engine(sqlite_url)
    said: list[str] = []
    migrator = threading.Timer(1.5, upgrade_to_head, args=(make_engine(sqlite_url), tmp_path))
    migrator.start()
    try:
        state = wait_for_head(engine, 60, said.append, process="clock")
    finally:
        migrator.join()
        engine.dispose()
    assert state.at_head
    assert said[0].startswith("clock: waiting for the database schema: the database schema is ")
    assert said[-1] == f"clock: the database schema is at {state.head}, starting"


def test_a_schema_migrated_by_newer_code_stops_a_process_at_once(tmp_path, sqlite_url):
    engine = make_engine(sqlite_url)
    try:
        upgrade_to_head(engine, tmp_path)
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_newer'")
        started = time.monotonic()
        with pytest.raises(SchemaNotReady) as refused:
            wait_for_head(engine, 60, print, process="clock")
    finally:
        engine.dispose()
    assert time.monotonic() - started < 5
    assert str(refused.value).startswith("the database schema is at 9999_newer, this code needs ")
    assert "migrated by newer code: run the same version of StockTracker everywhere" in str(
        refused.value
    )
