"""What a KPI question is: shops x KPIs x period x interval, validated once for every route
that asks one (series, exports, saved views), and the arithmetic of rolling answers up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from shopee_common.kpis import KPI_BY_NAME, Kpi, Rollup
from shopee_gateway.list_params import CommaSeparated, list_description

MAX_SHOPS = 50
MAX_POINTS = 200_000
# Far enough for any shop's history, and keeps date arithmetic (previous periods) in range.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_ZONES = frozenset(available_timezones())


class Interval(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"

    @property
    def step(self) -> timedelta:
        """The length of one bucket (days: nominal, DST days are 23 or 25 h)."""
        return {"minute": timedelta(minutes=1), "hour": timedelta(hours=1)}.get(
            self.value, timedelta(days=1)
        )


ShopId = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]
KpiName = Annotated[str, Field(min_length=1, max_length=64)]


def check_kpis(names: list[str]) -> list[str]:
    """The names, deduplicated in order; ValueError naming any that the registry lacks."""
    unknown = [n for n in names if n not in KPI_BY_NAME]
    if unknown:
        raise ValueError(f"unknown KPIs {unknown}; known: {', '.join(KPI_BY_NAME)}")
    return list(dict.fromkeys(names))


def check_zone(zone: str) -> str:
    """An IANA zone name, or ValueError."""
    if zone not in _ZONES:
        raise ValueError(f"unknown time zone {zone!r} (use an IANA name such as Asia/Jakarta)")
    try:
        ZoneInfo(zone)
    except ZoneInfoNotFoundError as exc:
        raise ValueError(f"unknown time zone {zone!r}") from exc
    return zone


class KpiQuery(BaseModel):
    """A KPI series question. `from`/`to` without an offset are read in `time_zone`."""

    model_config = ConfigDict(
        populate_by_name=True,
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "shops": ["glowlab-id"],
                    "kpis": ["gmv", "conversion_rate"],
                    "from": "2026-11-01T00:00:00+07:00",
                    "to": "2026-11-08T00:00:00+07:00",
                    "interval": "day",
                    "time_zone": "Asia/Jakarta",
                    "group": "shop",
                }
            ]
        },
    )

    max_points: ClassVar[int | None] = MAX_POINTS

    shops: Annotated[list[ShopId], CommaSeparated] = Field(
        min_length=1,
        max_length=MAX_SHOPS,
        description=list_description(
            f"Shop ids, at most {MAX_SHOPS}.", "shops", "glowlab-id", "techmate-my"
        ),
        examples=[["glowlab-id"]],
    )
    kpis: Annotated[list[KpiName], AfterValidator(check_kpis), CommaSeparated] = Field(
        min_length=1,
        max_length=len(KPI_BY_NAME),
        description=list_description("KPI names (GET /api/kpis/registry).", "kpis", "gmv", "aov"),
        # Both kept per product, so the examples of the query's parameters go together.
        examples=[["gmv", "paid_orders"]],
    )
    start: datetime = Field(
        alias="from", description="Start, inclusive.", examples=["2026-11-01T00:00:00+07:00"]
    )
    end: datetime = Field(
        alias="to", description="End, exclusive.", examples=["2026-11-08T00:00:00+07:00"]
    )
    interval: Interval = Field(Interval.HOUR, examples=["day"])
    time_zone: Annotated[str, AfterValidator(check_zone)] = Field(
        "UTC",
        description="IANA zone for naive from/to and bucket labels.",
        examples=["Asia/Jakarta"],
    )
    product_id: str = Field(
        "", max_length=128, description="'' = the whole shop.", examples=["72755671695"]
    )
    group: Literal["shop", "total"] = Field(
        "shop",
        description="One series per shop, or one across the shops (ratios recomputed).",
        examples=["shop"],
    )

    @field_validator("shops")
    @classmethod
    def _unique_shops(cls, shops: list[str]) -> list[str]:
        return sorted(set(shops))

    @model_validator(mode="after")
    def _period(self) -> KpiQuery:
        zone = ZoneInfo(self.time_zone)
        start = self.start if self.start.tzinfo else self.start.replace(tzinfo=zone)
        end = self.end if self.end.tzinfo else self.end.replace(tzinfo=zone)
        object.__setattr__(self, "start", start.astimezone(UTC))
        object.__setattr__(self, "end", end.astimezone(UTC))
        if self.end <= self.start:
            raise ValueError("`to` must be after `from`")
        if self.start < EARLIEST or self.end > LATEST:
            raise ValueError(f"times must be within {EARLIEST.year} to {LATEST.year - 1}")
        points = (self.end - self.start) / self.interval.step
        points *= len(self.kpis) * (1 if self.group == "total" else len(self.shops))
        if self.max_points is not None and points > self.max_points:
            raise ValueError(
                f"the query asks for ~{int(points)} points (more than {self.max_points}): "
                "shorten the period, use a coarser interval, or export it"
            )
        if self.product_id:
            shop_only = [k for k in self.kpis if not KPI_BY_NAME[k].per_product]
            if shop_only:
                raise ValueError(f"KPIs {shop_only} are not kept per product")
            if self.interval is Interval.MINUTE:
                raise ValueError("product KPIs are kept per hour and per day, not per minute")
        return self

    def cache_key(self) -> str:
        """A canonical string of the question (the cache and saved views key on it)."""
        return "series:" + self.model_dump_json(by_alias=True)


class ExportQuery(KpiQuery):
    """A KPI question for an export: no size cap (rows stream), optionally every product."""

    max_points: ClassVar[int | None] = None

    products: bool = Field(False, description="Also export every product's rows.", examples=[True])


class Period(BaseModel):
    """Whole days in each shop's own calendar, inclusive at both ends."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError("`to` must not be before `from`")
        if self.start < EARLIEST.date() or self.end > LATEST.date():
            raise ValueError(f"dates must be within {EARLIEST.year} to {LATEST.year - 1}")
        if (self.end - self.start).days > 3 * 366:
            raise ValueError("a period is at most three years")
        return self

    @property
    def days(self) -> int:
        """How many days the period spans."""
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        # Not re-validated: the period before one that starts in 2000 may reach back further.
        return Period.model_construct(
            start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1)
        )


def kpi_value(
    kpi: Kpi, numerator: Decimal | float, denominator: Decimal | float | None
) -> float | None:
    """A KPI's value from its exact parts: sums are the numerator; ratios are recomputed
    as sum(numerator) / sum(denominator) (never an average of ratios); None if undefined."""
    if kpi.rollup is Rollup.RATIO:
        if denominator is None or denominator == 0:
            return None
        return float(numerator) / float(denominator)
    return float(numerator)


def change(current: float | None, previous: float | None) -> tuple[float | None, float | None]:
    """(absolute delta, relative delta) between two values; None where undefined."""
    if current is None or previous is None:
        return None, None
    delta = current - previous
    return delta, (delta / previous if previous else None)
