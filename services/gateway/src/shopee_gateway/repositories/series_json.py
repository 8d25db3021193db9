"""The SQL that has PostgreSQL write a series' points as the JSON text of `SeriesResponse`.

A large answer holds tens of thousands of points; building one Python object per point cost
about 5 µs each. Here PostgreSQL writes each series' points (one text per shop and KPI) and the
gateway splices the texts into the answer unparsed. The text must be byte for byte what the
response model (orjson) writes, so:

- Labels: `to_json` of the bucket in the session's time zone, which the caller sets to the
  query's zone (`SET LOCAL TimeZone`): `"2026-03-29T02:00:00+01:00"`, quoted, as
  `datetime.isoformat()` writes a bucket (buckets are whole minutes). It is the text of
  `to_char(bucket, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM')` in quotes, written faster (a year of
  days of 8 shops and 6 KPIs: 26 to 23 ms).
- Numbers: with `extra_float_digits` > 0 PostgreSQL writes a float8 in the fewest digits that
  read back to it, as orjson does; the notations agree for whole numbers below 1e15 (orjson adds
  `.0`) and for every other number in [1e-4, 1e15). Anything else (NaN, infinities, and tiny or
  huge values, where PostgreSQL's exponent notation or digits differ) is written marked as
  `#<text>#` and rewritten by `points_json` with orjson from the exact float8 text.
- Values: `kpi_value` of the float8 parts. PostgreSQL's division stops the query where a finite
  quotient overflows or underflows to zero; Python's does not. Numerators and denominators of
  at least 1 (or a zero numerator) cannot do either, and are divided here; other ratios are
  marked `#<numerator>/<denominator>#` and divided by `points_json`.
"""

from __future__ import annotations

import re

import orjson

from shopee_gateway.kpi_query import Interval, KpiQuery

# Run in the series' transaction: labels in the query's zone, shortest exact float8 text.
SESSION = "SELECT set_config('TimeZone', $1, true), set_config('extra_float_digits', '1', true)"
_MARKED = re.compile(rb"#([^#]*)#")


def json_number(value: str) -> str:
    """SQL of the JSON text of the float8 expression `value` (NULL stays NULL), or it marked."""
    return (
        f"CASE WHEN {value} = trunc({value}) AND abs({value}) < 1e15 THEN {value}::text || '.0' "
        f"WHEN abs({value}) >= 1e-4 AND abs({value}) < 1e15 THEN {value}::text "
        f"ELSE '#' || {value}::text || '#' END"
    )


# Columns n, d (float8 numerator and denominator), n_text (json_number(n)), bucket; $6 holds
# the ratio KPIs of the query.
_VALUE = (
    "CASE WHEN kpi <> ALL($6::text[]) THEN n_text "
    "WHEN d IS NULL OR d = 0 THEN 'null' "
    f"WHEN abs(d) >= 1 AND (n = 0 OR abs(n) >= 1) THEN {json_number('(n / d)')} "
    "ELSE '#' || n::text || '/' || d::text || '#' END"
)
_POINT = (
    f"""'{{"bucket":' || to_json(bucket)::text || ',"value":' || {_VALUE} || ',"numerator":' """
    f"""|| n_text || ',"denominator":' || coalesce({json_number("d")}, 'null') || '}}'"""
)


def series_sql(query: KpiQuery, table: str) -> str:
    """One row per series of `query` read from `table`: shop_id, kpi and the points' text;
    ordered by shop and KPI in code point order (as Python sorts them).

    Parameters: shops, KPIs (each unique, as `KpiQuery` holds them), product id, start, end,
    and the query's ratio KPIs.

    Each series is read on its own (a LATERAL subquery per shop and KPI, or per KPI across the
    shops) and its points collected by `ARRAY(... ORDER BY bucket)`: the index narrows each read,
    its rows are sorted while they are narrow, and nothing sorts all the rows by shop and KPI
    or again inside an aggregate (PostgreSQL 15's `string_agg(... ORDER BY)` sorts even input
    already in order). A shop and KPI without rows has no series.
    """
    order = "bucket"
    if query.group == "shop":
        series = "unnest($1::text[]) AS s(shop_id) CROSS JOIN unnest($2::text[]) AS k(kpi)"
        shop, shops = "s.shop_id", "s.shop_id"
        parts, group = "bucket, numerator::float8 AS n, denominator::float8 AS d", ""
    else:
        series, shop, shops = "unnest($2::text[]) AS k(kpi)", "NULL::text", "ANY($1::text[])"
        sums = "sum(numerator)::float8 AS n, sum(denominator)::float8 AS d"
        if query.interval is Interval.DAY:
            # Days start at each shop's own midnight, so shops in different zones meet on
            # local_date.
            order = "local_date"
            parts, group = f"local_date, min(bucket) AS bucket, {sums}", "GROUP BY local_date"
        else:
            parts, group = f"bucket, {sums}", "GROUP BY bucket"
    rows = (
        f"SELECT {parts} FROM {table} WHERE shop_id = {shops} AND kpi = k.kpi "
        f"AND product_id = $3 AND bucket >= $4 AND bucket < $5 {group} ORDER BY {order}"
    )
    # The middle query's ORDER BY is already met by the rows (no second sort) and keeps that
    # order known to the outer ORDER BY, which is what fixes the points' order; OFFSET 0 keeps
    # it from being inlined, which would repeat its casts and number texts at every use.
    points = (
        f"SELECT {_POINT} FROM (SELECT *, {json_number('n')} AS n_text, k.kpi FROM ({rows}) AS r "
        f"ORDER BY {order} OFFSET 0) AS points ORDER BY {order}"
    )
    # OFFSET 0: the array is built once, not again for the WHERE.
    return (
        f"SELECT {shop}, k.kpi, array_to_string(p.points, ',') FROM {series} "
        f"CROSS JOIN LATERAL (SELECT ARRAY({points}) AS points OFFSET 0) AS p "
        f'WHERE cardinality(p.points) > 0 ORDER BY {shop} COLLATE "C", k.kpi COLLATE "C"'
    )


def _rewrite(marked: re.Match[bytes]) -> bytes:
    numerator, _, denominator = marked[1].partition(b"/")
    value = float(numerator) / float(denominator) if denominator else float(numerator)
    return orjson.dumps(value)


def points_json(text: str) -> bytes:
    """The JSON of a series' points from the text `series_sql` wrote, marked numbers written
    by orjson."""
    points = text.encode()
    return _MARKED.sub(_rewrite, points) if b"#" in points else points
