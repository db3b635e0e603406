"""bench/load.py's CPU figure: it counts every process of a started stack, and only those."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
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
    # The stack's process starts a child that burns 0.5 s of CPU, reaps it, says so, then sleeps.
    parent = (
        "import subprocess, sys, time\n"
        f"subprocess.run([sys.executable, '-c', {BURN!r}], check=True)\n"
        "print('reaped', flush=True)\n"
        "time.sleep(30)\n"
    )
    stack_process = subprocess.Popen(
        [sys.executable, "-c", parent],
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    bystander = subprocess.Popen(
        [sys.executable, "-c", BURN + "time.sleep(30)\n"], start_new_session=True
    )
    try:
        # Wait for the child's end rather than for a figure, so a slow machine is no failure
        # and a failed start shows its own error instead of a small number.
        said = stack_process.stdout.readline().strip()
        if said != "reaped":
            stack_process.kill()
            _, error = stack_process.communicate(timeout=10)
            pytest.fail(f"the stack's process failed before measuring: {error}")
        used = load.Stack("http://127.0.0.1:1", (stack_process.pid,)).cpu_seconds()
        # The finished child's 0.5 s counts through its parent; the bystander's does not.
        assert 0.5 <= used < 0.9
    finally:
        for process in (stack_process, bystander):
            process.kill()
            process.communicate()
