"""Without SECRET_KEY every process of a host signs with one key, kept in the instance directory."""

from __future__ import annotations

import stat
import subprocess
import sys
from dataclasses import replace

import pytest

from dashapp import context_of, create_app
from dashapp.secret_key import KEY_FILE, load_or_create_key
from dashapp.settings import SettingsError
from tests.config.background_http import COMPARE_JOB_INPUT, NO_ANSWER, Tab, http_transport
from tests.conftest import make_settings
from tests.servers import ROOT, free_port, start_gunicorn, wait_for_portfolios

RACERS = 8


def test_first_start_creates_a_private_key_file_that_later_apps_reuse(tmp_path, sqlite_url, clock):
    settings = replace(make_settings(tmp_path, sqlite_url), secret_key="")
    first = create_app(settings, clock=clock)
    try:
        key_file = settings.instance_dir / KEY_FILE
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert first.server.secret_key == key_file.read_text()
        assert len(first.server.secret_key) >= 32
    finally:
        context_of(first).close()
    second = create_app(settings, clock=clock)
    try:
        assert second.server.secret_key == first.server.secret_key
    finally:
        context_of(second).close()


def test_secret_key_from_the_environment_wins_and_writes_no_file(tmp_path, sqlite_url, clock):
    settings = replace(make_settings(tmp_path, sqlite_url), secret_key="set-by-the-operator")
    app = create_app(settings, clock=clock)
    try:
        assert app.server.secret_key == "set-by-the-operator"
        assert not (settings.instance_dir / KEY_FILE).exists()
    finally:
        context_of(app).close()


def test_processes_starting_at_once_all_end_up_with_one_key(tmp_path):
    path = tmp_path / "instance" / KEY_FILE
    gate = tmp_path / "go"
    # Each racer imports the app first (slow on a busy machine), then all start together.
    program = (
        "import sys, time; from pathlib import Path; "
        "from dashapp.secret_key import load_or_create_key; "
        "print('ready', flush=True); "
        "exec('while not Path(sys.argv[2]).exists(): time.sleep(0.001)'); "
        "print(load_or_create_key(Path(sys.argv[1])))"
    )
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", program, str(path), str(gate)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(RACERS)
    ]
    try:
        for racer in racers:
            assert racer.stdout.readline().strip() == "ready"
        gate.touch()
        keys = {racer.communicate(timeout=60)[0].strip() for racer in racers}
    finally:
        for racer in racers:
            racer.kill()
            racer.wait()
    assert keys == {path.read_text()}
    # No candidate files are left behind beside the key.
    assert [p.name for p in path.parent.iterdir()] == [KEY_FILE]


@pytest.mark.parametrize("content", ["", "short"])
def test_an_unusable_key_file_stops_start_up_naming_the_setting(tmp_path, content):
    path = tmp_path / KEY_FILE
    path.write_text(content)
    with pytest.raises(SettingsError) as raised:
        load_or_create_key(path)
    assert raised.value.variable == "SECRET_KEY"
    assert "delete it" in str(raised.value)


def test_three_gunicorn_workers_without_secret_key_deliver_every_background_result(tmp_path):
    """A job started through one worker and polled through the others: with a key per worker,
    a poll reaching another worker failed its signature check and the page never updated."""
    env = {"INSTANCE_DIR": str(tmp_path / "instance"), "STOCKTRACKER_DEMO": "1"}
    port = free_port()
    web = start_gunicorn(port, env, workers=3)
    base = f"http://127.0.0.1:{port}"
    try:
        [portfolio] = wait_for_portfolios(base)
        answers = []
        for period in ("1Y", "3Y", "5Y", "MAX"):
            tab = Tab(http_transport(base))
            tab.open()
            job = {
                "portfolio_id": portfolio["id"],
                "benchmarks": ["SPY"],
                "period": period,
                "start": None,
                "end": None,
                "asked": "compare-run",
            }
            tab.start([COMPARE_JOB_INPUT], [job])
            answers.append(tab.answer(90))
        assert NO_ANSWER not in answers
        assert (tmp_path / "instance" / KEY_FILE).exists()
    finally:
        web.terminate()
        web.wait(timeout=30)
