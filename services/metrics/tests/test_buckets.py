"""Buckets start at UTC minutes and at the shop's local hours and days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from shopee_metrics.domain.buckets import Granularity, bucket_end, buckets_for


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def test_jakarta_day_starts_at_17_utc() -> None:
    buckets = buckets_for(epoch("2026-11-10T18:30:45+00:00"), "Asia/Jakarta")
    assert buckets.minute == datetime(2026, 11, 10, 18, 30, tzinfo=UTC)
    assert buckets.hour == datetime(2026, 11, 10, 18, 0, tzinfo=UTC)
    assert buckets.local_hour == datetime(2026, 11, 11, 1, 0)
    assert buckets.day == datetime(2026, 11, 10, 17, 0, tzinfo=UTC)
    assert buckets.local_date == date(2026, 11, 11)


def test_half_hour_zone_hours_start_at_half_past_utc() -> None:
    buckets = buckets_for(epoch("2026-11-10T10:10:00+00:00"), "Asia/Kolkata")
    assert buckets.hour == datetime(2026, 11, 10, 9, 30, tzinfo=UTC)
    assert buckets.local_hour == datetime(2026, 11, 10, 15, 0)


def test_day_length_follows_daylight_saving() -> None:
    spring_day = buckets_for(epoch("2026-03-08T12:00:00+00:00"), "America/New_York").day
    assert bucket_end(spring_day, Granularity.DAY, "America/New_York") - spring_day == (
        datetime(2026, 3, 9, 4, tzinfo=UTC) - datetime(2026, 3, 8, 5, tzinfo=UTC)
    )
    assert bucket_end(spring_day, Granularity.HOUR, "America/New_York") - spring_day != (
        bucket_end(spring_day, Granularity.DAY, "America/New_York") - spring_day
    )


def test_day_end_is_the_next_local_midnight_across_daylight_saving() -> None:
    spring = buckets_for(epoch("2026-03-08T12:00:00+00:00"), "America/New_York")
    assert spring.day_end == datetime(2026, 3, 9, 4, tzinfo=UTC)
    assert spring.day_end - spring.day == timedelta(hours=23)
    jakarta = buckets_for(epoch("2026-11-10T18:30:45+00:00"), "Asia/Jakarta")
    assert jakarta.day_end == datetime(2026, 11, 11, 17, 0, tzinfo=UTC)
