import gzip
import zlib

import pytest

from shopee_ingest.domain.batch import MalformedBody
from shopee_ingest.domain.encoding import InflatedTooLarge, UnsupportedEncoding, decoded_body

BODY = b'{"event_id": "e-1"}\n' * 50


@pytest.mark.parametrize("encoding", [None, "", "identity", " Identity "])
def test_a_body_without_encoding_is_taken_as_it_is(encoding: str | None) -> None:
    assert decoded_body(BODY, encoding, max_bytes=len(BODY)) is BODY


@pytest.mark.parametrize("encoding", ["gzip", "GZIP", "x-gzip", "identity, gzip"])
def test_a_gzipped_body_is_inflated(encoding: str) -> None:
    assert decoded_body(gzip.compress(BODY), encoding, max_bytes=len(BODY)) == BODY


def test_gzip_members_one_after_another_are_one_body() -> None:
    halves = gzip.compress(BODY[:400]) + gzip.compress(BODY[400:])
    assert decoded_body(halves, "gzip", max_bytes=len(BODY)) == BODY


def test_the_limit_applies_to_the_inflated_body() -> None:
    bomb = gzip.compress(b"\0" * 10_000_000)
    assert len(bomb) < 20_000
    with pytest.raises(InflatedTooLarge, match="more than 1000 bytes"):
        decoded_body(bomb, "gzip", max_bytes=1000)
    # Exactly at the limit is allowed, also over several members.
    assert decoded_body(gzip.compress(b"a" * 500) * 2, "gzip", max_bytes=1000) == b"a" * 1000
    with pytest.raises(InflatedTooLarge):
        decoded_body(gzip.compress(b"a" * 500) * 2 + gzip.compress(b"a"), "gzip", max_bytes=1000)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (BODY, "not valid gzip"),
        (gzip.compress(BODY)[:-20], "ends before its end of stream"),
        (b"", "ends before its end of stream"),
        (gzip.compress(BODY) + b"trailing", "not valid gzip"),
        (zlib.compress(BODY), "not valid gzip"),
    ],
    ids=["plain", "truncated", "empty", "trailing-bytes", "zlib-not-gzip"],
)
def test_a_body_that_is_not_gzip_is_malformed(body: bytes, message: str) -> None:
    with pytest.raises(MalformedBody, match=message):
        decoded_body(body, "gzip", max_bytes=10_000)


@pytest.mark.parametrize("encoding", ["br", "zstd", "deflate", "gzip, gzip", "compress"])
def test_other_encodings_are_refused_by_name(encoding: str) -> None:
    with pytest.raises(UnsupportedEncoding, match="send gzip or no encoding"):
        decoded_body(gzip.compress(BODY), encoding, max_bytes=10_000)
