"""bench/load.py's CPU figure: it counts every process of a started stack, and only those."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import pytest

LOAD_PY = Path(__file__).resolve().parents[1] / "bench" / "load.py"
BURN = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass\n"


@pytest.fixture(scope="module")
def load():
    spec = importlib.util.spec_from_file_location("load_bench", LOAD_PY)
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up by name.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_cpu_seconds_counts_the_stack_and_its_children_only(load):
    # The stack's process starts a child that burns 0.5 s of CPU, then both sleep.
    parent = (
        f"import subprocess, sys, time\nsubprocess.run([sys.executable, '-c', {BURN!r}])\n"
        "time.sleep(30)\n"
    )
    stack_process = subprocess.Popen([sys.executable, "-c", parent], start_new_session=True)
    bystander = subprocess.Popen(
        [sys.executable, "-c", BURN + "time.sleep(30)\n"], start_new_session=True
    )
    try:
        stack = load.Stack("http://127.0.0.1:1", (stack_process.pid,))
        deadline = time.monotonic() + 20
        while stack.cpu_seconds() < 0.5 and time.monotonic() < deadline:
            time.sleep(0.1)
        used = stack.cpu_seconds()
        # The finished child's 0.5 s counts through its parent; the bystander's does not.
        assert 0.5 <= used < 0.9
    finally:
        for process in (stack_process, bystander):
            process.kill()
            process.wait()
