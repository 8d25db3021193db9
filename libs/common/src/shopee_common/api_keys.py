"""Machine API keys: `sk_<prefix>_<secret>`, stored only as the SHA-256 of the whole key.

The prefix is public (shown in listings, used to find a key in logs); the secret carries
256 bits from `secrets`, so a fast hash is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from dataclasses import dataclass

PREFIX_ALPHABET = string.ascii_lowercase + string.digits
PREFIX_LENGTH = 8
SECRET_BYTES = 32
KEY_PATTERN = re.compile(r"sk_(?P<prefix>[a-z0-9]{8,16})_(?P<secret>[A-Za-z0-9_-]{32,})")


@dataclass(frozen=True)
class IssuedApiKey:
    """A new key: `plain` is shown to its owner once, only `prefix` and `key_hash` are stored."""

    plain: str
    prefix: str
    key_hash: str


def hash_api_key(key: str) -> str:
    """The hex SHA-256 stored in `api_keys.key_hash`."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str:
    """The public prefix of a well-formed key; ValueError for anything else."""
    match = KEY_PATTERN.fullmatch(key)
    if match is None:
        raise ValueError("an API key looks like sk_<8-16 lowercase letters or digits>_<secret>")
    return match["prefix"]


def issue_api_key() -> IssuedApiKey:
    """Make a fresh random key."""
    prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    plain = f"sk_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    return IssuedApiKey(plain=plain, prefix=prefix, key_hash=hash_api_key(plain))
