"""Load test: the user mix of bench/locustfile.py against the embedded app and the production stack.

    python3 -m venv .venv-load && .venv-load/bin/pip install -r requirements-load.txt
    python3 bench/load.py [--stack embedded|production|both] [--users 5,20,50] [--seconds 40]

Each stack is started here, on free ports, with demo-market prices (no network) and torn down
after its levels:
- embedded: `python app.py --demo` (Flask's threaded server, SQLite, diskcache);
- production: the Procfile's `web:` line (gunicorn, WEB_CONCURRENCY workers x 4 threads) on
  PostgreSQL (a database of its own, `stocktracker_load`) and Redis (database 13), with a Celery
  worker for background callbacks; seeded and warmed once before gunicorn starts, as the demo is.

Each level runs headless locust for `--seconds` after all users have started (statistics are
reset once they have), and prints one line:
`stack=production users=N rps=... p50_ms=... p95_ms=... p99_ms=... errors=... requests=...
cpu_ms_per_request=... server_cores=... load1=...`;
`--detail` adds each endpoint's line below it. The machine's other work shows in the latencies:
quote them with the load they were taken under. `cpu_ms_per_request` (CPU time of every process
of the stack over the measured seconds, divided by the requests answered in them) hardly moves
with that load, so it is the figure to compare two versions by; `server_cores` is the same CPU
time per second of the window (1.0 = one core busy), `load1` the machine's load average at the
start of the level.
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = ROOT / "bench" / "locustfile.py"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"
LOAD_DATABASE = "stocktracker_load"
REDIS_URL = "redis://127.0.0.1:6379/13"
START_SECONDS = 240
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Stack:
    """A started stack: its address and the process sessions (one per started command)."""

    url: str
    sessions: tuple[int, ...]

    def cpu_seconds(self) -> float:
        """CPU time used so far by every live process of the stack's sessions (Linux /proc),
        with what their finished children used."""
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            # Fields after the parenthesised command name: state is 3rd, session 6th, utime 14th.
            fields = stat.rpartition(")")[2].split()
            if int(fields[3]) in self.sessions:
                total += sum(int(value) for value in fields[11:15])
        return total / CLOCK_TICKS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", choices=("embedded", "production", "both"), default="both")
    parser.add_argument("--users", default="5,20,50", help="comma-separated user levels")
    parser.add_argument("--seconds", type=int, default=40, help="measured seconds per level")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (production)")
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument("--python", default=str(ROOT / ".venv" / "bin" / "python"))
    parser.add_argument("--locust", default=str(ROOT / ".venv-load" / "bin" / "locust"))
    parser.add_argument("--detail", action="store_true", help="also print each endpoint")
    arguments = parser.parse_args()
    for tool, hint in (
        (arguments.locust, "requirements-load.txt"),
        (arguments.python, "scripts/test.sh"),
    ):
        if not Path(tool).exists():
            raise SystemExit(f"{tool} not found: install it first ({hint}, see the docstring)")
    levels = [int(level) for level in arguments.users.split(",")]
    stacks = ["embedded", "production"] if arguments.stack == "both" else [arguments.stack]
    for stack in stacks:
        with tempfile.TemporaryDirectory(prefix=f"load-{stack}-") as workdir:
            starter = embedded if stack == "embedded" else production
            with starter(arguments, Path(workdir)) as started_stack:
                for users in levels:
                    run_level(arguments, stack, started_stack, users, Path(workdir))


def run_level(
    arguments: argparse.Namespace, stack: str, started_stack: Stack, users: int, workdir: Path
) -> None:
    prefix = workdir / f"level-{users}"
    spawn_rate = max(1, users // 5)  # everyone in within about 5 s
    ramp = users / spawn_rate
    command = [
        arguments.locust,
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        started_stack.url,
        "--users",
        str(users),
        "--spawn-rate",
        str(spawn_rate),
        "--run-time",
        f"{int(ramp + arguments.seconds + 1)}s",
        "--reset-stats",
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",
        "10",
        "--loglevel",
        "ERROR",
    ]
    load1 = os.getloadavg()[0]
    with open(f"{prefix}.log", "wb") as log:
        locust = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        # The CPU window is the measured one: from the statistics' reset to the end of the run.
        time.sleep(ramp)
        cpu_before, window_start = started_stack.cpu_seconds(), time.monotonic()
        time.sleep(arguments.seconds)
        cpu_used = started_stack.cpu_seconds() - cpu_before
        window = time.monotonic() - window_start
        locust.wait()
    if not Path(f"{prefix}_stats.csv").exists():
        tail = Path(f"{prefix}.log").read_text(errors="replace").splitlines()[-15:]
        raise SystemExit("locust wrote no statistics:\n" + "\n".join(tail))
    with open(f"{prefix}_stats.csv", newline="") as stats:
        rows = list(csv.DictReader(stats))
    total = next(row for row in rows if row["Name"] == "Aggregated")
    answered = float(total["Requests/s"]) * window
    cpu = (
        f" cpu_ms_per_request={1000 * cpu_used / max(answered, 1):.1f}"
        f" server_cores={cpu_used / window:.2f} load1={load1:.1f}"
    )
    print(line(f"stack={stack} users={users}", total) + cpu, flush=True)
    if arguments.detail:
        for row in rows:
            if row["Name"] != "Aggregated":
                print(line(f"  endpoint={row['Type']} {row['Name']!r}", row), flush=True)


def line(label: str, row: dict[str, str]) -> str:
    return (
        f"{label} rps={float(row['Requests/s']):.1f} p50_ms={row['50%']} "
        f"p95_ms={row['95%']} p99_ms={row['99%']} errors={row['Failure Count']} "
        f"requests={row['Request Count']}"
    )


@contextmanager
def embedded(arguments: argparse.Namespace, workdir: Path) -> Iterator[Stack]:
    port = free_port()
    env = base_env(workdir) | {"PORT": str(port)}
    with started([arguments.python, "app.py", "--demo"], env, workdir / "app.log") as app:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url)
        yield Stack(url, (app.pid,))


@contextmanager
def production(arguments: argparse.Namespace, workdir: Path) -> Iterator[Stack]:
    port = free_port()
    database_url = f"{POSTGRES}/{LOAD_DATABASE}"
    fresh_stores(arguments.python, database_url)
    env = base_env(workdir) | {
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "MARKET_DATA": "demo",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(arguments.workers),
    }
    # Seed and warm once, as `python app.py --demo` does at start, before any worker serves.
    subprocess.run(
        [arguments.python, "app.py", "--demo", "--prepare-only"],
        cwd=ROOT,
        env=env | {"STOCKTRACKER_DEMO": "1"},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    bin_dir = Path(arguments.python).parent
    web = procfile_line("web")
    worker = [
        str(bin_dir / "celery"),
        "-A",
        "app:celery",
        "worker",
        "--concurrency",
        str(arguments.celery_concurrency),
        "--loglevel",
        "WARNING",
    ]
    path_env = env | {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    with (
        started(["sh", "-c", f"exec {web}"], path_env, workdir / "web.log") as web_process,
        started(worker, path_env, workdir / "worker.log") as worker_process,
    ):
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url)
        # PostgreSQL and Redis serve other users of the machine too: they are not counted.
        yield Stack(url, (web_process.pid, worker_process.pid))


def base_env(workdir: Path) -> dict[str, str]:
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    return keep | {
        "INSTANCE_DIR": str(workdir / "instance"),
        "CACHE_DIR": str(workdir / "cache"),
        "SECRET_KEY": "load-test",
        "HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }


def procfile_line(process: str) -> str:
    for entry in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = entry.partition(":")
        if name.strip() == process:
            return command.strip()
    raise SystemExit(f"Procfile has no {process}: line")


def fresh_stores(python: str, database_url: str) -> None:
    """An empty database of the load test's own and an empty Redis database 13."""
    script = f"""
import psycopg, redis
with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as db:
    db.execute("DROP DATABASE IF EXISTS {LOAD_DATABASE} WITH (FORCE)")
    db.execute("CREATE DATABASE {LOAD_DATABASE}")
redis.Redis.from_url("{REDIS_URL}").flushdb()
"""
    subprocess.run([python, "-c", script], check=True)


@contextmanager
def started(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A process in a session of its own, stopped with everything it started at the end."""
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            stop(process)
            if process.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL):
                tail = log.read_text(errors="replace").splitlines()[-15:]
                print(
                    f"# {command[0]} exited {process.returncode}:",
                    *tail,
                    sep="\n# ",
                    file=sys.stderr,
                )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_until_serving(url: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/portfolios", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit(f"{url} did not answer within {START_SECONDS} s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    main()
