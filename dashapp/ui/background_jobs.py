"""Dash background callbacks run in a thread of the web process, their state in the shared diskcache.

Dash's DiskcacheManager forks one process per job. Forking a threaded server (werkzeug's dev
server, gunicorn's gthread workers) copies every lock in the state other threads held it at
that instant, SQLite's global mutex included: a job forked while another thread was opening or
closing a database blocks forever in `sqlite3.connect` (caught in this test suite with py-spy,
and a hung job also keeps the interpreter from exiting). A thread shares the process's
connection pools safely and needs no pickling.

What the browser needs still goes through the diskcache under CACHE_DIR, so any worker of the
host can answer a poll: progress and result (as Dash's manager keeps them), and a `job:<id>`
entry saying which process runs the job and whether it is done. A thread cannot be killed:
cancelling forgets the job, so nobody waits for it, and the thread finishes its bounded work
(every upstream call has a timeout) and stores a result nobody reads, which expires.

Every job gets a result key of its own (`PerRequestKeys`). Dash derives the key from the
callback's source and arguments only, so two users or two tabs that start the same callback
with the same inputs shared one key: the first poll to read the result deleted it and the
other job then looked finished with nothing, leaving its page without an answer. Sharing the
computation is the service layer's business (`services/result_cache.py` computes one key once
per host); a job only carries that answer to the page that asked.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import threading
from collections.abc import Callable
from typing import Any

import psutil
from dash import CeleryManager, DiskcacheManager

from dashapp.services.ownership import Actor, acting_as, actor

log = logging.getLogger(__name__)

# A job's entry outlives any job we run; it only has to go eventually.
JOB_ENTRY_SECONDS = 86_400
# Job ids travel to the browser signed; they are ints because Dash parses them as ints.
JOB_ID_BITS = 52
# The keyword that carries the starter to a callback with keyword arguments (flexible signatures).
ACTOR_ARGUMENT = "_stocktracker_actor"


class CarriesActor:
    """A background-callback manager mixin: the job acts for the user whose request started it.

    The acting user lives in a ContextVar of the request (services/ownership.py), which neither
    a thread nor a Celery worker inherits. It travels as one extra argument after the
    callback's own, JSON-safe for Celery, and the wrapped callback acts as that user.
    """

    def make_job_fn(self, fn: Callable[..., Any], progress: Any, key: Any = None) -> Any:
        return super().make_job_fn(_acting_for_its_starter(fn), progress, key)  # type: ignore[misc]

    def call_job_fn(self, key: str, job_fn: Any, args: Any, context: Any) -> Any:
        return super().call_job_fn(key, job_fn, _with_actor(args), context)  # type: ignore[misc]


def _with_actor(args: Any) -> Any:
    starter = actor()
    carried = [starter.user_id, starter.is_admin]
    if isinstance(args, dict):
        return {**args, ACTOR_ARGUMENT: carried}
    if isinstance(args, (list, tuple)):
        return [*args, carried]
    return [args, carried]


def _acting_for_its_starter(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def acting(*args: Any, **kwargs: Any) -> Any:
        if ACTOR_ARGUMENT in kwargs:
            user_id, is_admin = kwargs.pop(ACTOR_ARGUMENT)
        else:
            *args, (user_id, is_admin) = args  # type: ignore[assignment]
        with acting_as(Actor(int(user_id), bool(is_admin))):
            return fn(*args, **kwargs)

    return acting


class PerRequestKeys:
    """A background-callback manager mixin: each started job stores its result under a key of
    its own, so identical requests never take each other's result or cancel each other."""

    def build_cache_key(
        self, fn: Callable[..., Any], args: Any, cache_args_to_ignore: Any, triggered: Any
    ) -> str:
        # Hex only: Dash signs the key and splits the signed handle at "~".
        shared = super().build_cache_key(fn, args, cache_args_to_ignore, triggered)  # type: ignore[misc]
        return f"{shared}{secrets.token_hex(16)}"


class PerRequestCeleryManager(CarriesActor, PerRequestKeys, CeleryManager):
    """Dash's CeleryManager with a result key per started job."""


class ThreadedDiskcacheManager(CarriesActor, PerRequestKeys, DiskcacheManager):
    """A DiskcacheManager whose jobs are threads of the process that received the request."""

    def call_job_fn(self, key: str, job_fn: Callable[..., Any], args: Any, context: Any) -> int:
        """Start the job in a thread (CarriesActor's own call_job_fn is not in this chain)."""
        job = secrets.randbits(JOB_ID_BITS) or 1
        entry = {"pid": os.getpid(), "done": False, "result": key}
        self.handle.set(self._job_key(job), entry, expire=JOB_ENTRY_SECONDS)
        thread = threading.Thread(
            target=self._run,
            args=(job, job_fn, (key, self._make_progress_key(key), _with_actor(args), context)),
            name=f"background-callback-{job}",
            daemon=True,
        )
        thread.start()
        return job

    def _run(self, job: int, job_fn: Callable[..., Any], job_args: tuple[Any, ...]) -> None:
        try:
            # Dash's job function stores the callback's result or its error under the key.
            job_fn(*job_args)
        except Exception:
            log.exception("background callback job %s failed outside the callback", job)
        finally:
            # Only a job still known is marked done: a cancelled one stays forgotten.
            with self.handle.transact():
                entry = self.handle.get(self._job_key(job))
                if entry is not None:
                    entry["done"] = True
                    self.handle.set(self._job_key(job), entry, expire=JOB_ENTRY_SECONDS)

    def job_running(self, job: Any) -> bool:
        """Running, or done with a result nobody has read yet.

        Dash reads the result first and asks this second: a job finishing in between must not
        look stopped, or the poll that missed its result would also close the loop.
        """
        entry = self.handle.get(self._job_key(int(job))) if job else None
        if entry is None:
            return False
        if entry["done"]:
            return self.handle.get(entry["result"]) is not None
        # A job whose process died (a recycled or killed worker) is not running any more.
        return psutil.pid_exists(entry["pid"])

    def terminate_job(self, job: Any) -> None:
        if job is not None:
            self.handle.delete(self._job_key(int(job)))

    def terminate_unhealthy_job(self, job: Any) -> bool:
        if (
            job
            and self.handle.get(self._job_key(int(job))) is not None
            and not self.job_running(job)
        ):
            self.terminate_job(job)
            return True
        return False

    @staticmethod
    def _job_key(job: int) -> str:
        return f"background-job:{job}"
