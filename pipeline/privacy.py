"""Keyed pseudonyms: HMAC-SHA256 with a local secret that is never committed nor printed."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from pipeline.errors import SecretMissing

_SECRET_BYTES = 32


def load_secret(path: Path, *, create: bool = True, must_exist: bool = False) -> bytes:
    """Read the secret, creating it with owner-only permissions on first use.

    Args:
        path: where the secret lives (git-ignored ``.spsc/secret.key`` by default).
        create: create it when missing.
        must_exist: raise :class:`SecretMissing` when missing (set when the warehouse already
            holds pseudonyms: a new secret would silently break links between quarters).
    """
    path = Path(path)
    if path.exists():
        data = path.read_bytes().strip()
        if len(data) < 32:
            raise SecretMissing("the pseudonymisation secret is too short or damaged", str(path),
                                "restore it from your backup")
        return data
    if must_exist:
        raise SecretMissing(
            "the pseudonymisation secret is missing but the warehouse already holds pseudonyms",
            str(path),
            "restore the secret from your backup (a new one would break the links between quarters)",
        )
    if not create:
        raise SecretMissing("no pseudonymisation secret", str(path), "run 'spsc init'")
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(_SECRET_BYTES).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(value)
    os.chmod(path.parent, 0o700)
    return value


def pseudonym(secret: bytes, *parts: object, prefix: str = "p") -> str:
    """A stable keyed pseudonym of ``parts``: the same inputs and secret give the same key.

    The key is ``prefix`` plus the first 16 hex digits of HMAC-SHA256, enough to make
    collisions between a few million people negligible.
    """
    msg = "\x1f".join("" if p is None else str(p) for p in parts).encode("utf-8")
    return prefix + hmac.new(secret, msg, hashlib.sha256).hexdigest()[:16]


def pseudonymise_many(secret: bytes, values, prefix: str = "p") -> list[str | None]:
    """Pseudonyms for a sequence of values; ``None`` and empty strings stay ``None``."""
    key = hmac.new(secret, digestmod=hashlib.sha256)
    out: list[str | None] = []
    for v in values:
        if v is None or v == "" or (isinstance(v, float) and v != v):
            out.append(None)
            continue
        h = key.copy()
        h.update(str(v).encode("utf-8"))
        out.append(prefix + h.hexdigest()[:16])
    return out
