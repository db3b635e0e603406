"""The one place that reads the environment: a frozen Settings object built at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from limits import parse

MARKET_DATA_CHOICES = ("yahoo", "demo")
# "local": one implicit user, no sign-in, loopback only; "accounts": sign-in, users, API tokens.
AUTH_CHOICES = ("local", "accounts")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# The demo market's own database and cache live here under INSTANCE_DIR, so its made-up
# prices never reach a later run against the real market.
DEMO_SUBDIR = "demo"
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A setting in the environment is malformed; the message names the variable."""

    def __init__(self, variable: str, reason: str) -> None:
        super().__init__(f"{variable}: {reason}")
        self.variable = variable


@dataclass(frozen=True)
class Settings:
    """Configuration of one process. Build it with `Settings.from_env()`."""

    instance_dir: Path = Path("instance")
    database_url: str = ""
    cache_dir: Path = Path("instance/cache")
    redis_url: str | None = None
    market_data: str = "yahoo"
    demo: bool = False
    # Empty: the key in `instance_dir / "secret_key"`, created on first start (see
    # dashapp/secret_key.py), so every process of the host signs alike.
    secret_key: str = field(default="", repr=False)
    host: str = "127.0.0.1"
    auth: str = "local"
    # How many reverse proxies in front set X-Forwarded-For/-Proto/-Host; 0 trusts none of them.
    forwarded_proxies: int = 0
    # A bearer token that may read /metrics (besides an admin's API token); empty: none.
    metrics_token: str = field(default="", repr=False)
    # Per-user quotas, in the limits library's notation ("10/minute", "100 per hour").
    quota_refreshes: str = "10/minute"
    quota_warms: str = "5/minute"
    quota_sweeps: str = "3/minute"
    quota_backtests: str = "20/minute"
    quota_comparisons: str = "20/minute"
    # Counts previews too (both parse every row): a page import, previewed then imported, is two.
    quota_imports: str = "20/minute"
    port: int = 8050
    fresh_intraday_seconds: int = 300
    self_heal_sessions: int = 3
    yahoo_chunk_size: int = 50
    yahoo_max_workers: int = 4
    upstream_timeout_seconds: float = 10.0
    upstream_requests_per_minute: int = 120
    breaker_failure_threshold: int = 5
    breaker_reset_seconds: float = 60.0
    risk_free_rate: float = 0.0
    max_import_bytes: int = 2_000_000
    max_import_rows: int = 20_000
    log_level: str = "INFO"
    # prometheus_client multiprocess files; None means `instance_dir / "prometheus"`.
    prometheus_multiproc_dir: Path | None = None
    warm_delay_seconds: int = 600
    benchmark_history_days: int = 1826
    # A dead or frozen dependency is an error within these, never a hang (README: Configuration).
    database_connect_timeout_seconds: float = 3.0
    database_statement_timeout_seconds: float = 10.0
    redis_timeout_seconds: float = 3.0
    cache_timeout_seconds: float = 5.0
    # How long a Celery worker or the clock waits for the web's master (or `python -m
    # dashapp.db upgrade`) to bring the schema to head before it gives up with a message.
    schema_wait_seconds: float = 120.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every STOCKTRACKER setting from `environ` (default: os.environ).

        Raises SettingsError naming the variable when a value cannot be parsed.
        """
        env = os.environ if environ is None else environ
        # Absolute, so that no path depends on the directory a process was started from.
        instance_dir = _directory(env, "INSTANCE_DIR", Path("instance"))
        demo = _boolean(env, "STOCKTRACKER_DEMO", False)
        market_data = env.get("MARKET_DATA", "demo" if demo else "yahoo").strip().lower()
        if market_data not in MARKET_DATA_CHOICES:
            raise SettingsError("MARKET_DATA", f"must be one of {', '.join(MARKET_DATA_CHOICES)}")
        # The demo market's prices go to a database and cache of their own.
        data_dir = instance_dir / DEMO_SUBDIR if market_data == "demo" else instance_dir
        database_url = env.get("DATABASE_URL", "").strip()
        if not database_url:
            database_url = f"sqlite:///{data_dir / 'stocktracker.db'}"
        elif "://" not in database_url:
            raise SettingsError(
                "DATABASE_URL", "must be a URL such as postgresql+psycopg://host/db"
            )
        # Heroku-style platforms hand out postgres:// URLs; SQLAlchemy wants a driver name.
        for prefix in ("postgres://", "postgresql://"):
            if database_url.startswith(prefix):
                database_url = "postgresql+psycopg://" + database_url[len(prefix) :]
        _check_url_port("DATABASE_URL", database_url)
        redis_url = env.get("REDIS_URL", "").strip() or None
        if redis_url is not None and not redis_url.startswith(("redis://", "rediss://")):
            raise SettingsError("REDIS_URL", "must start with redis:// or rediss://")
        if redis_url is not None:
            _check_url_port("REDIS_URL", redis_url)
        auth = env.get("AUTH", "local").strip().lower()
        if auth not in AUTH_CHOICES:
            raise SettingsError("AUTH", f"must be one of {', '.join(AUTH_CHOICES)}")
        settings = cls(
            instance_dir=instance_dir,
            database_url=database_url,
            cache_dir=_directory(env, "CACHE_DIR", data_dir / "cache"),
            redis_url=redis_url,
            market_data=market_data,
            demo=demo,
            secret_key=env.get("SECRET_KEY", "").strip(),
            host=env.get("HOST", "127.0.0.1"),
            auth=auth,
            forwarded_proxies=_integer(env, "FORWARDED_PROXIES", 0, minimum=0, maximum=5),
            metrics_token=env.get("METRICS_TOKEN", "").strip(),
            quota_refreshes=_rate(env, "QUOTA_REFRESHES", "10/minute"),
            quota_warms=_rate(env, "QUOTA_WARMS", "5/minute"),
            quota_sweeps=_rate(env, "QUOTA_SWEEPS", "3/minute"),
            quota_backtests=_rate(env, "QUOTA_BACKTESTS", "20/minute"),
            quota_comparisons=_rate(env, "QUOTA_COMPARISONS", "20/minute"),
            quota_imports=_rate(env, "QUOTA_IMPORTS", "20/minute"),
            port=_integer(env, "PORT", 8050, minimum=1, maximum=65535),
            fresh_intraday_seconds=_integer(env, "FRESH_INTRADAY_SECONDS", 300, minimum=1),
            self_heal_sessions=_integer(env, "SELF_HEAL_SESSIONS", 3, minimum=0, maximum=30),
            yahoo_chunk_size=_integer(env, "YAHOO_CHUNK_SIZE", 50, minimum=1, maximum=200),
            yahoo_max_workers=_integer(env, "YAHOO_MAX_WORKERS", 4, minimum=1, maximum=16),
            upstream_timeout_seconds=_number(env, "UPSTREAM_TIMEOUT_SECONDS", 10.0, minimum=0.1),
            upstream_requests_per_minute=_integer(
                env, "UPSTREAM_REQUESTS_PER_MINUTE", 120, minimum=1
            ),
            breaker_failure_threshold=_integer(env, "BREAKER_FAILURE_THRESHOLD", 5, minimum=1),
            breaker_reset_seconds=_number(env, "BREAKER_RESET_SECONDS", 60.0, minimum=1.0),
            risk_free_rate=_number(env, "RISK_FREE_RATE", 0.0, minimum=-1.0, maximum=1.0),
            max_import_bytes=_integer(env, "MAX_IMPORT_BYTES", 2_000_000, minimum=1),
            max_import_rows=_integer(env, "MAX_IMPORT_ROWS", 20_000, minimum=1),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            prometheus_multiproc_dir=(
                _directory(env, "PROMETHEUS_MULTIPROC_DIR", Path())
                if env.get("PROMETHEUS_MULTIPROC_DIR")
                else None
            ),
            warm_delay_seconds=_integer(env, "WARM_DELAY_SECONDS", 600, minimum=0, maximum=14_400),
            benchmark_history_days=_integer(env, "BENCHMARK_HISTORY_DAYS", 1826, minimum=30),
            database_connect_timeout_seconds=_number(
                env, "DATABASE_CONNECT_TIMEOUT_SECONDS", 3.0, minimum=1.0, maximum=60.0
            ),
            database_statement_timeout_seconds=_number(
                env, "DATABASE_STATEMENT_TIMEOUT_SECONDS", 10.0, minimum=1.0, maximum=600.0
            ),
            redis_timeout_seconds=_number(
                env, "REDIS_TIMEOUT_SECONDS", 3.0, minimum=0.5, maximum=60.0
            ),
            cache_timeout_seconds=_number(
                env, "CACHE_TIMEOUT_SECONDS", 5.0, minimum=0.5, maximum=60.0
            ),
            schema_wait_seconds=_number(
                env, "SCHEMA_WAIT_SECONDS", 120.0, minimum=0.0, maximum=3600.0
            ),
        )
        return replace(settings, **overrides) if overrides else settings

    @property
    def metrics_dir(self) -> Path:
        """Where prometheus_client keeps one file per process (shared by every process of a host)."""
        return self.prometheus_multiproc_dir or self.instance_dir / "prometheus"

    @property
    def accounts(self) -> bool:
        """Users sign in (AUTH=accounts); otherwise every request is the one local user's."""
        return self.auth == "accounts"

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def refuse_open_bind(host: str) -> str:
    """Why AUTH=local does not listen on `host`."""
    return (
        f"AUTH=local has no sign-in, so it listens only on loopback (127.0.0.1, localhost, ::1),"
        f" not on {host}; set AUTH=accounts to serve other machines"
    )


def is_loopback(host: str) -> bool:
    return host.strip("[]") in LOOPBACK_HOSTS


def _check_url_port(name: str, url: str) -> None:
    """A port in `url` must be a number from 1 to 65535 (the URL itself is not echoed: it may
    hold a password)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise SettingsError(
            name, f"the port for host {parts.hostname or '?'} must be a number from 1 to 65535"
        )


def _directory(env: Mapping[str, str], name: str, default: Path) -> Path:
    """The directory named by `name` (or `default`), absolute; `~` is the user's home."""
    raw = env.get(name, "").strip()
    return (Path(raw).expanduser() if raw else default).absolute()


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    """A rate such as "10/minute" or "100 per hour" (the limits library parses it)."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        parse(raw)
    except ValueError:
        raise SettingsError(
            name, f'expected a rate such as "10/minute" or "100 per hour", got {raw!r}'
        ) from None
    return raw


def _boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise SettingsError(name, f"expected a yes/no value such as 1 or 0, got {raw!r}")


def _integer(
    env: Mapping[str, str],
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(name, f"expected a whole number, got {raw!r}") from None
    _check_range(name, value, minimum, maximum)
    return value


def _number(
    env: Mapping[str, str],
    name: str,
    default: float,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise SettingsError(name, f"expected a number, got {raw!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise SettingsError(name, f"expected a finite number, got {raw!r}")
    _check_range(name, value, minimum, maximum)
    return value


def _check_range(name: str, value: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and value < minimum:
        raise SettingsError(name, f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise SettingsError(name, f"must be at most {maximum}, got {value}")
