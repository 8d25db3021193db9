"""The marketplace calendar and planned campaign windows as the detector sees them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shopee_metrics.domain.anomalies import CampaignCalendar, DayKind, PlannedCampaign
from shopee_metrics.domain.anomalies.calendar import day_kind


@pytest.mark.parametrize(
    ("day", "market", "kind"),
    [
        (date(2026, 11, 11), "ID", DayKind.MEGA_SALE),
        (date(2026, 9, 9), "TH", DayKind.MEGA_SALE),
        (date(2026, 5, 5), "PH", DayKind.DOUBLE_DATE),
        (date(2026, 11, 9), "PH", DayKind.BEFORE_MEGA_SALE),
        (date(2026, 11, 10), "PH", DayKind.BEFORE_MEGA_SALE),
        (date(2026, 11, 12), "PH", DayKind.AFTER_SALE),
        (date(2026, 11, 13), "PH", DayKind.AFTER_SALE),
        (date(2026, 5, 6), "PH", DayKind.AFTER_SALE),
        (date(2026, 5, 26), "PH", DayKind.PAYDAY),
        (date(2026, 6, 1), "PH", DayKind.PAYDAY),
        (date(2026, 5, 13), "PH", DayKind.ORDINARY),
        (date(2026, 3, 20), "ID", DayKind.HOLIDAY),  # Eid al-Fitr 2026
        (date(2026, 3, 26), "MY", DayKind.HOLIDAY),
        (date(2026, 3, 27), "MY", DayKind.PAYDAY),  # the holiday week is over
        (date(2026, 3, 20), "TH", DayKind.ORDINARY),
    ],
)
def test_day_kinds(day: date, market: str, kind: DayKind) -> None:
    assert day_kind(day, market) is kind


def campaign(campaign_id: str, start_hour: int, hours: int) -> PlannedCampaign:
    start = datetime(2026, 5, 13, start_hour, tzinfo=UTC)
    return PlannedCampaign(campaign_id, campaign_id, start, start + timedelta(hours=hours))


def test_campaign_windows_overlap_hours_with_exclusive_ends() -> None:
    calendar = CampaignCalendar([campaign("flash", 12, 2), campaign("live", 19, 2)])
    hour = timedelta(hours=1)
    at = datetime(2026, 5, 13, tzinfo=UTC)
    assert [c.campaign_id for c in calendar.active(at + 12 * hour, at + 13 * hour)] == ["flash"]
    assert calendar.active(at + 14 * hour, at + 15 * hour) == []
    assert calendar.active(at + 11 * hour, at + 12 * hour) == []
    assert [c.campaign_id for c in calendar.active(at, at + 24 * hour)] == ["flash", "live"]


def test_a_replanned_campaign_replaces_the_old_window_and_old_ones_are_forgotten() -> None:
    calendar = CampaignCalendar([campaign("flash", 12, 2)])
    calendar.add([campaign("flash", 18, 2), campaign("empty", 9, 0)])
    assert [
        c.starts_at.hour
        for c in calendar.active(datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))
    ] == [18]
    calendar.forget_before(datetime(2026, 5, 14, tzinfo=UTC))
    assert len(calendar) == 0
