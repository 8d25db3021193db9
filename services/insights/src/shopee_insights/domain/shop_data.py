"""One shop's events as tables: order lines, traffic, catalogue, campaigns, reviews and chats.

Built from (kind, occurred_at, payload) triples, the shape of `raw_events` rows and of the
generator's NDJSON, so the service, the CLI and the benchmarks read the same way. Payload keys
may be snake_case (how the stream job stores them) or camelCase (proto3 JSON): both are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

PAID_STATUSES = frozenset({"ORDER_STATUS_PAID", "ORDER_STATUS_SHIPPED", "ORDER_STATUS_COMPLETED"})
STATUS_RANK = {
    "ORDER_STATUS_CREATED": 1,
    "ORDER_STATUS_PAID": 2,
    "ORDER_STATUS_SHIPPED": 3,
    "ORDER_STATUS_COMPLETED": 4,
    "ORDER_STATUS_CANCELLED": 5,
    "ORDER_STATUS_RETURNED": 6,
}
EVENT_KINDS = ("order", "traffic", "catalog", "campaign", "review", "chat")
CATALOG_COLUMNS = [
    "product_id",
    "name",
    "category",
    "price_minor",
    "cost_minor",
    "stock",
    "status",
    "occurred_at",
]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def read(payload: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """A payload field by its proto name, whichever JSON spelling the writer used."""
    if name in payload:
        return payload[name]
    return payload.get(_camel(name), default)


def _int(value: Any) -> int:
    # proto3 JSON writes int64 as strings.
    return int(value) if value not in (None, "") else 0


def _time(value: Any) -> pd.Timestamp | None:
    return pd.Timestamp(value) if value else None


@dataclass
class ShopData:
    """Everything the models of one shop are fitted on. Times are UTC pandas timestamps."""

    shop_id: str
    time_zone: str
    orders: pd.DataFrame
    traffic: pd.DataFrame
    catalog: pd.DataFrame
    campaigns: pd.DataFrame
    reviews: pd.DataFrame
    chats: pd.DataFrame
    products: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        self.products = current_products(self.catalog, self.orders)

    @property
    def paid_lines(self) -> pd.DataFrame:
        """Order lines of orders that were paid and neither cancelled nor returned."""
        return self.orders[self.orders["status"].isin(PAID_STATUSES)]

    @property
    def last_event_at(self) -> pd.Timestamp:
        stamps = [
            frame["occurred_at"].max()
            for frame in (self.orders, self.traffic, self.reviews)
            if len(frame)
        ]
        return max(stamps) if stamps else pd.Timestamp.now(tz="UTC")

    @property
    def catalog_as_of(self) -> datetime | None:
        """When the newest catalogue event loaded happened: `products` is the catalogue as of
        then (None without catalogue events)."""
        if not len(self.catalog):
            return None
        newest: datetime = self.catalog["occurred_at"].max().to_pydatetime()
        return newest


class _Builder:
    def __init__(self) -> None:
        self.time_zone = "UTC"
        self.order_lines: list[tuple[Any, ...]] = []
        self.final_status: dict[str, str] = {}
        self.traffic: list[tuple[Any, ...]] = []
        self.catalog: list[tuple[Any, ...]] = []
        self.campaigns: list[tuple[Any, ...]] = []
        self.reviews: list[tuple[Any, ...]] = []
        self.chats: list[tuple[Any, ...]] = []

    def add(self, kind: str, at: datetime, payload: Mapping[str, Any]) -> None:
        handler = getattr(self, f"_{kind}", None)
        if handler is not None:
            handler(at, payload)

    def _order(self, at: datetime, p: Mapping[str, Any]) -> None:
        order_id = read(p, "order_id", "")
        status = read(p, "status", "")
        known = self.final_status.get(order_id)
        if known is None or STATUS_RANK.get(status, 0) >= STATUS_RANK.get(known, 0):
            self.final_status[order_id] = status
        if status != "ORDER_STATUS_CREATED":
            return
        for item in read(p, "items", []):
            self.order_lines.append(
                (
                    order_id,
                    read(p, "buyer_id", ""),
                    read(item, "product_id", ""),
                    read(item, "product_name", ""),
                    _int(read(item, "quantity")),
                    _int(read(item, "unit_price_minor")),
                    _int(read(item, "discount_minor")),
                    read(p, "campaign_id", ""),
                    read(p, "campaign_kind", ""),
                    at,
                )
            )

    def _traffic(self, at: datetime, p: Mapping[str, Any]) -> None:
        self.traffic.append(
            (
                read(p, "kind", ""),
                read(p, "session_id", ""),
                read(p, "visitor_id", ""),
                read(p, "source", ""),
                read(p, "product_id", ""),
                read(p, "channel", ""),
                at,
            )
        )

    def _catalog(self, at: datetime, p: Mapping[str, Any]) -> None:
        self.catalog.append(
            (
                read(p, "product_id", ""),
                read(p, "name", ""),
                read(p, "category", ""),
                _int(read(p, "price_minor")),
                _int(read(p, "cost_minor")),
                _int(read(p, "stock")),
                read(p, "status", ""),
                at,
            )
        )

    def _campaign(self, at: datetime, p: Mapping[str, Any]) -> None:
        self.campaigns.append(
            (
                read(p, "campaign_id", ""),
                read(p, "kind", ""),
                read(p, "action", ""),
                _time(read(p, "starts_at")),
                _time(read(p, "ends_at")),
                tuple(read(p, "product_ids", [])),
                float(read(p, "discount_percent", 0.0) or 0.0),
                _int(read(p, "spend_minor")),
                read(p, "ads_channel", ""),
                at,
            )
        )

    def _review(self, at: datetime, p: Mapping[str, Any]) -> None:
        self.reviews.append(
            (
                read(p, "review_id", ""),
                read(p, "product_id", ""),
                read(p, "buyer_id", ""),
                _int(read(p, "rating")),
                read(p, "text", ""),
                read(p, "language", ""),
                at,
            )
        )

    def _chat(self, at: datetime, p: Mapping[str, Any]) -> None:
        text = read(p, "text", "")
        if text and read(p, "sender", "") == "CHAT_SENDER_BUYER":
            self.chats.append((read(p, "conversation_id", ""), read(p, "buyer_id", ""), text, at))


def _frame(rows: list[tuple[Any, ...]], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    if "occurred_at" in frame:
        frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    return frame


def build_shop_data(
    shop_id: str, time_zone: str, events: Iterable[tuple[str, datetime, Mapping[str, Any]]]
) -> ShopData:
    """Tables of one shop from its (kind, occurred_at UTC, payload) events, in any order."""
    builder = _Builder()
    for kind, at, payload in events:
        builder.add(kind, at, payload)
    orders = _frame(
        builder.order_lines,
        [
            "order_id",
            "buyer_id",
            "product_id",
            "product_name",
            "quantity",
            "unit_price_minor",
            "discount_minor",
            "campaign_id",
            "campaign_kind",
            "occurred_at",
        ],
    )
    orders["status"] = orders["order_id"].map(builder.final_status).fillna("")
    orders["paid_minor"] = (
        orders["unit_price_minor"] * orders["quantity"] - orders["discount_minor"]
    )
    return ShopData(
        shop_id=shop_id,
        time_zone=time_zone,
        orders=orders,
        traffic=_frame(
            builder.traffic,
            ["kind", "session_id", "visitor_id", "source", "product_id", "channel", "occurred_at"],
        ),
        catalog=_frame(builder.catalog, CATALOG_COLUMNS),
        campaigns=_frame(
            builder.campaigns,
            [
                "campaign_id",
                "kind",
                "action",
                "starts_at",
                "ends_at",
                "product_ids",
                "discount_percent",
                "spend_minor",
                "ads_channel",
                "occurred_at",
            ],
        ),
        reviews=_frame(
            builder.reviews,
            ["review_id", "product_id", "buyer_id", "rating", "text", "language", "occurred_at"],
        ),
        chats=_frame(builder.chats, ["conversation_id", "buyer_id", "text", "occurred_at"]),
    )


def catalog_state(events: Iterable[tuple[datetime, Mapping[str, Any]]]) -> pd.DataFrame:
    """The latest state of each product named in catalogue events (occurred_at, payload), in the
    shape of `current_products`."""
    builder = _Builder()
    for at, payload in events:
        builder.add("catalog", at, payload)
    return current_products(_frame(builder.catalog, CATALOG_COLUMNS), pd.DataFrame())


def current_products(catalog: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """The latest catalogue state per product (indexed by product_id); products seen only in
    orders get their name and last list price from there, with unknown category and cost."""
    columns = ["name", "category", "price_minor", "cost_minor", "stock", "status"]
    latest = (
        catalog.sort_values("occurred_at").groupby("product_id").last()[columns]
        if len(catalog)
        else pd.DataFrame(columns=columns, index=pd.Index([], name="product_id"))
    )
    if len(orders):
        sold = orders.sort_values("occurred_at").groupby("product_id").last()
        missing = sold.index.difference(latest.index)
        if len(missing):
            extra = pd.DataFrame(
                {
                    "name": sold.loc[missing, "product_name"],
                    "category": "",
                    "price_minor": sold.loc[missing, "unit_price_minor"],
                    "cost_minor": 0,
                    "stock": 1,
                    "status": "PRODUCT_STATUS_ACTIVE",
                },
                index=missing,
            )
            latest = pd.concat([latest, extra]) if len(latest) else extra
    latest.index.name = "product_id"
    return latest
