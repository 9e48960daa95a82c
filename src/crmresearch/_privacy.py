"""Keyed pseudonyms for customer ids: the one place ids are hidden.

A pseudonym is ``C-`` + the first hex digits of ``HMAC-SHA256(key, id)``. With the same key the
same id always gets the same pseudonym, so a firm that keeps its key file can map a list in a
report back to its own ids (by pseudonymizing its id list with the key); without the key the ids
cannot be recovered by hashing candidate ids. When no key is given a fresh random key is used for
the run (pseudonyms then differ between runs). Only the key's fingerprint is ever written to a
report or manifest.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from crmresearch.errors import DataError

__all__ = ["new_key", "load_key", "key_fingerprint", "pseudonymize", "KEY_BYTES"]

KEY_BYTES = 32


def new_key() -> bytes:
    """A fresh random key (32 bytes from :mod:`secrets`)."""
    return secrets.token_bytes(KEY_BYTES)


def load_key(path: str | os.PathLike, *, create: bool = True) -> bytes:
    """Read the key in ``path`` (hex text); when missing and ``create``, write a new one with mode
    0600 and return it. The firm keeps this file: the same key gives the same pseudonyms."""
    p = Path(path)
    if not p.exists():
        if not create:
            raise DataError(f"{p.name}: id key file not found; create one with --id-key {p.name}")
        key = new_key()
        p.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key.hex() + "\n")
        return key
    try:
        text = p.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except (UnicodeDecodeError, ValueError):
        raise DataError(
            f"{p.name}: not an id key file (expected {2 * KEY_BYTES} hex digits); "
            "point --id-key to the key file you kept, or to a new path to create one"
        ) from None
    if len(key) < 16:
        raise DataError(f"{p.name}: id key too short ({len(key)} bytes; at least 16 needed)")
    return key


def key_fingerprint(key: bytes) -> str:
    """A short public fingerprint of ``key`` (first 16 hex digits of SHA-256 of a domain-tagged
    key): safe to print; tells whether two runs used the same key."""
    return hashlib.sha256(b"crmresearch-id-key:" + key).hexdigest()[:16]


def pseudonymize(ids: Iterable[Any], key: bytes, *, prefix: str = "C-", length: int = 10) -> list[str]:
    """``prefix`` + ``length`` hex digits of ``HMAC-SHA256(key, str(id))`` for each id."""
    if not key:
        raise ValueError("pseudonymize: key must be non-empty bytes")
    return [
        prefix + hmac.new(key, str(i).encode("utf-8"), hashlib.sha256).hexdigest()[:length]
        for i in ids
    ]
