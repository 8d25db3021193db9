"""A shop's events must be in the zone the shop is registered in: the stream job buckets hours and
days in that zone and dead-letters events in any other."""

from __future__ import annotations


def zone_mismatch(shop_id: str, time_zone: str, registered: str) -> str | None:
    """Why `time_zone` may not be used for the shop, or None when it is the registered zone."""
    if time_zone == registered:
        return None
    return f"{time_zone!r} is not the zone shop {shop_id!r} is registered in ({registered!r})"
