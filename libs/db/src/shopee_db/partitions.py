"""Monthly range partitions for the plain-PostgreSQL storage path.

`raw_events` (by `occurred_at`) and `kpi_minute` (by `bucket`) are partitioned by calendar month
in UTC, partitions named `<table>_pYYYYMM`, plus a `<table>_default` partition that catches rows
outside every month created so far, so that an insert never fails for want of a partition.

`ensure_partitions(table, from, to)` is a SQL function, callable from any client: it creates the
monthly partitions covering [from, to) that are missing and returns how many it created. When the
default partition already holds rows of a month being created, it moves them into the new
partition in the same transaction. Call it in a short transaction of its own: creating a
partition locks the parent table until commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, text

PARTITIONED_TABLES = {"raw_events": "occurred_at", "kpi_minute": "bucket"}

ENSURE_PARTITIONS_FUNCTION = r"""
CREATE OR REPLACE FUNCTION ensure_partitions(
    p_table regclass, p_from timestamptz, p_to timestamptz
) RETURNS integer
LANGUAGE plpgsql AS $function$
DECLARE
    parent_schema text;
    parent_name text;
    key_column text;
    default_partition regclass;
    month_start timestamp;  -- UTC wall clock, so month arithmetic ignores the session time zone
    month_end timestamp;
    lower_bound timestamptz;
    upper_bound timestamptz;
    child text;
    locked boolean := false;
    default_has_rows boolean;
    created integer := 0;
BEGIN
    SELECT n.nspname, c.relname, a.attname
      INTO parent_schema, parent_name, key_column
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_partitioned_table pt ON pt.partrelid = c.oid
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = pt.partattrs[0]
     WHERE c.oid = p_table AND pt.partstrat = 'r' AND pt.partnatts = 1;
    IF parent_name IS NULL THEN
        RAISE EXCEPTION '% is not range-partitioned on one column', p_table;
    END IF;
    IF p_from IS NULL OR p_to IS NULL OR p_to < p_from THEN
        RAISE EXCEPTION 'ensure_partitions needs from <= to, got [%, %)', p_from, p_to;
    END IF;

    SELECT i.inhrelid::regclass INTO default_partition
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = p_table AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';

    month_start := date_trunc('month', p_from AT TIME ZONE 'UTC');
    WHILE (month_start AT TIME ZONE 'UTC') < p_to LOOP
        month_end := month_start + INTERVAL '1 month';
        child := format('%s_p%s', parent_name, to_char(month_start, 'YYYYMM'));
        IF to_regclass(format('%I.%I', parent_schema, child)) IS NULL AND NOT locked THEN
            -- Serialise concurrent callers, then look again: another may have just made it.
            PERFORM pg_advisory_xact_lock(hashtextextended('ensure_partitions:' || p_table::oid, 0));
            locked := true;
        END IF;
        IF to_regclass(format('%I.%I', parent_schema, child)) IS NULL THEN
            lower_bound := month_start AT TIME ZONE 'UTC';
            upper_bound := month_end AT TIME ZONE 'UTC';
            default_has_rows := false;
            IF default_partition IS NOT NULL THEN
                EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I >= $1 AND %I < $2)',
                               default_partition, key_column, key_column)
                   INTO default_has_rows USING lower_bound, upper_bound;
            END IF;
            IF default_has_rows THEN
                EXECUTE format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                               parent_schema, child, p_table);
                EXECUTE format('WITH moved AS (DELETE FROM %s WHERE %I >= $1 AND %I < $2 RETURNING *) '
                               'INSERT INTO %I.%I SELECT * FROM moved',
                               default_partition, key_column, key_column, parent_schema, child)
                   USING lower_bound, upper_bound;
                EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                               p_table, parent_schema, child,
                               to_char(month_start, 'YYYY-MM-DD"T"HH24:MI:SS"+00"'),
                               to_char(month_end, 'YYYY-MM-DD"T"HH24:MI:SS"+00"'));
            ELSE
                EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                               parent_schema, child, p_table,
                               to_char(month_start, 'YYYY-MM-DD"T"HH24:MI:SS"+00"'),
                               to_char(month_end, 'YYYY-MM-DD"T"HH24:MI:SS"+00"'));
            END IF;
            created := created + 1;
        END IF;
        month_start := month_end;
    END LOOP;
    RETURN created;
END
$function$
"""

DROP_ENSURE_PARTITIONS_FUNCTION = (
    "DROP FUNCTION IF EXISTS ensure_partitions(regclass, timestamptz, timestamptz)"
)


def default_partition_statement(table: str) -> str:
    """The catch-all partition that keeps inserts outside every created month from failing."""
    return f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT"


def initial_partitions_statement(table: str, months_back: int, months_ahead: int) -> str:
    """Create the months around the moment the migration runs (evaluated by the server)."""
    if months_back < 0 or months_ahead < 0:
        raise ValueError("months_back and months_ahead must not be negative")
    this_month = "date_trunc('month', now() AT TIME ZONE 'UTC')"
    return (
        f"SELECT ensure_partitions('{table}', "
        f"({this_month} - INTERVAL '{months_back} months') AT TIME ZONE 'UTC', "
        f"({this_month} + INTERVAL '{months_ahead + 1} months') AT TIME ZONE 'UTC')"
    )


def ensure_partitions(connection: Connection, table: str, start: datetime, end: datetime) -> int:
    """Create the monthly partitions of `table` covering [start, end); return how many were new.

    On the TimescaleDB path the function exists too and returns 0, so callers need not know the
    path. `start` and `end` must be timezone-aware.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("ensure_partitions needs timezone-aware datetimes")
    created = connection.execute(
        text("SELECT ensure_partitions(CAST(:table AS regclass), :start, :end)"),
        {"table": table, "start": start, "end": end},
    ).scalar_one()
    return int(created)
