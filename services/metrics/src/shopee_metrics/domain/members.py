"""The narrow key of a distinct member row (`kpi_members.key`, see docs/metrics.md).

A member of a bucket (granularity, shop, product, KPI, bucket start, member) is stored as a
16-byte `uuid` instead of six text columns: the bucket start in whole minutes since the epoch
(4 bytes, so a batch's inserts land in a few neighbouring regions of the primary key's index
instead of all over it: measured about a fifth cheaper than a key that is all hash), then the
first 96 bits of the SHA-256 of the fields. Only members of buckets that start in the same
minute can share a key, with probability n^2 / 2^97 for n such members: about 1e-15 even for
10^7 of them. A 64-bit hash over all rows would have collision odds of about 3e-4 over 10^8 live
rows, and a collision silently drops a visitor. SHA-256 rather than BLAKE2 because PostgreSQL
computes it too (`sha256()`), which is how migration 0007 converted the rows it found.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from hashlib import sha256

# Fields are joined with NUL, which PostgreSQL text cannot hold, so the encoding is unambiguous.
SEPARATOR = "\0"


def member_key(
    granularity: str, shop_id: str, product_id: str, kpi: str, bucket: datetime, member: str
) -> str:
    """The member's key as 32 hex digits (a uuid): 8 of the bucket start's epoch minute, 24 of
    the SHA-256 of the NUL-joined fields (the bucket start as whole epoch seconds)."""
    seconds, minute = bucket_texts(bucket)
    return key_of(minute, SEPARATOR.join((granularity, shop_id, product_id, kpi, seconds, member)))


def key_of(minute_prefix: str, joined_fields: str) -> str:
    """The key from its parts (the batch builds them with fewer steps than `member_key`)."""
    return minute_prefix + sha256(joined_fields.encode()).hexdigest()[:24]


@lru_cache(maxsize=8_192)
def bucket_texts(bucket: datetime) -> tuple[str, str]:
    """A bucket start as whole epoch seconds and as the key's 8-hex-digit epoch minute (most
    events share their buckets, hence the cache)."""
    seconds = int(bucket.timestamp())
    return str(seconds), f"{seconds // 60:08x}"
