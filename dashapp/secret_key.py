"""The key that signs sessions and background-callback handles: SECRET_KEY, else one kept in the
instance directory, created on first start and then used by every process of the host.

A key per process would not do: a job handle signed by one gunicorn worker and polled through
another fails its signature check, and Dash answers that poll with a silent 204 (17 of 20
background results were lost that way across 4 workers). Several hosts do not share an
instance directory: there SECRET_KEY must be set, the same on each.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import tempfile
from pathlib import Path

from dashapp.settings import Settings, SettingsError

KEY_FILE = "secret_key"

log = logging.getLogger(__name__)


def secret_key_of(settings: Settings) -> str:
    """SECRET_KEY when set, else the instance directory's key (created when missing)."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.instance_dir / KEY_FILE
    if not settings.uses_sqlite or settings.redis_url:
        # A shared database or Redis suggests several hosts, whose keys would differ.
        log.warning(
            "SECRET_KEY is not set: using %s; with several hosts, set SECRET_KEY, the same on each",
            path,
        )
    return load_or_create_key(path)


def load_or_create_key(path: Path) -> str:
    """The key stored at `path`; when there is none, a new random one stored there (mode 0600).

    Workers starting together must all end up with the same key: each writes a complete
    candidate to a private temporary file and hard-links it to `path`, which succeeds for
    exactly one of them (the link fails when `path` exists); everyone then reads `path` back.
    Unlike writing `path` itself after O_CREAT|O_EXCL, no process can read a half-written key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # mkstemp opens with O_CREAT|O_EXCL and mode 0600.
        handle, candidate = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "w") as stream:
                stream.write(secrets.token_hex(32))
                stream.flush()
                os.fsync(stream.fileno())
            # FileExistsError: another process of the host made it first; use theirs.
            with contextlib.suppress(FileExistsError):
                os.link(candidate, path)
        finally:
            os.unlink(candidate)
    key = path.read_text(encoding="ascii", errors="replace").strip()
    if len(key) < 32:
        raise SettingsError(
            "SECRET_KEY",
            f"unset, and the key file {path} holds no usable key (fewer than 32 characters): "
            "delete it to have a new one made, or set SECRET_KEY",
        )
    return key
