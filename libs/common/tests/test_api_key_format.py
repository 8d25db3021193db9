"""API keys: format, prefix and the stored hash."""

from __future__ import annotations

import hashlib

import pytest

from shopee_common.api_keys import KEY_PATTERN, hash_api_key, issue_api_key, key_prefix


def test_issued_key_has_the_documented_shape_and_its_hash() -> None:
    issued = issue_api_key()
    assert KEY_PATTERN.fullmatch(issued.plain)
    assert issued.plain.startswith(f"sk_{issued.prefix}_")
    assert issued.key_hash == hashlib.sha256(issued.plain.encode()).hexdigest()
    assert key_prefix(issued.plain) == issued.prefix


def test_every_issue_is_new() -> None:
    keys = {issue_api_key().plain for _ in range(50)}
    assert len(keys) == 50


def test_hash_matches_what_ingest_compares() -> None:
    assert (
        hash_api_key("sk_abcdefgh_" + "x" * 43)
        == hashlib.sha256(("sk_abcdefgh_" + "x" * 43).encode()).hexdigest()
    )


@pytest.mark.parametrize(
    "key",
    [
        "",
        "sk_ab_" + "x" * 43,
        "pk_abcdefgh_" + "x" * 43,
        "sk_ABCDEFGH_" + "x" * 43,
        "sk_abcdefgh_short",
    ],
)
def test_malformed_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="sk_<"):
        key_prefix(key)
