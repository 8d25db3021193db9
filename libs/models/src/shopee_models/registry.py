"""The model registry the ML services share: versioned artefacts, and what is known about them.

An artefact is the fitted model object, serialized with joblib and written through fsspec, so the
root can be a local folder (`.run/models`) or an object store (`s3://bucket/models`, with s3fs
installed) without code changes. Its row in `model_registry` (PostgreSQL) keeps the version, the
metadata, the backtest scores and the status; at most one version of a model is `active`.

Loading unpickles, which runs code: the registry records each artefact's sha256 when it writes it
and refuses to load bytes that do not match, so a tampered store cannot inject a model.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import fsspec
import joblib

MEMO_SIZE = 256
# A model fitted on data that has since moved on by more than this (fitted while the stream job was
# still catching up on a history, or its scheduled retrain has failed since) still answers, while
# a fit on the data now counted runs in the background for the next call. The scheduled retrains
# keep a model a day or so behind.
STALE_AFTER = timedelta(days=2)
COLUMNS = "model_name, version, kind, artefact_uri, metadata, backtest_scores, status, trained_at"


class ArtefactIntegrityError(RuntimeError):
    """The stored bytes are not the ones the registry wrote."""


@dataclass(frozen=True)
class ModelVersion:
    model_name: str
    version: str
    kind: str
    artefact_uri: str
    metadata: dict[str, Any]
    backtest_scores: dict[str, Any]
    status: str
    trained_at: datetime


def behind_its_data(fitted_until: date, counted_until: date) -> bool:
    """Whether the data counted since a model was fitted has moved on by more than STALE_AFTER
    (two dates, or two datetimes)."""
    return counted_until - fitted_until > STALE_AFTER


def _json(value: Any) -> dict[str, Any]:
    # asyncpg returns jsonb as text unless the pool registered a codec for it.
    return dict(json.loads(value)) if isinstance(value, str) else dict(value)


def _like_escaped(prefix: str) -> str:
    """`prefix` as a LIKE pattern's literal part (backslash is LIKE's default escape)."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _version_of(row: asyncpg.Record) -> ModelVersion:
    return ModelVersion(
        model_name=row["model_name"],
        version=row["version"],
        kind=row["kind"],
        artefact_uri=row["artefact_uri"],
        metadata=_json(row["metadata"]),
        backtest_scores=_json(row["backtest_scores"]),
        status=row["status"],
        trained_at=row["trained_at"],
    )


def _to_json(value: Mapping[str, Any]) -> str:
    """JSON for a jsonb column: PostgreSQL has no NaN or infinity in JSON, so a score that is not
    a number (a MAPE over zero actuals) is stored as null; numpy scalars become plain numbers."""

    def clean(item: Any) -> Any:
        if hasattr(item, "item") and not isinstance(item, (str, bytes)):
            item = item.item()
        if isinstance(item, float):
            return item if math.isfinite(item) else None
        if isinstance(item, Mapping):
            return {str(key): clean(inner) for key, inner in item.items()}
        if isinstance(item, (list, tuple)):
            return [clean(inner) for inner in item]
        return item

    return json.dumps(clean(value), allow_nan=False, default=str)


def _dump(model: object) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    return buffer.getvalue()


def _write(uri: str, data: bytes, storage_options: Mapping[str, Any]) -> None:
    with fsspec.open(uri, "wb", auto_mkdir=True, **storage_options) as sink:
        sink.write(data)


def _read(uri: str, storage_options: Mapping[str, Any]) -> bytes:
    with fsspec.open(uri, "rb", **storage_options) as source:
        data: bytes = source.read()
        return data


class ModelRegistry:
    """Register, find and load model versions. Model names read `<service>/<shop>/<series>`."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        artefact_root: str,
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._pool = pool
        self._root = artefact_root.rstrip("/")
        self._storage_options = dict(storage_options or {})
        self._loaded: OrderedDict[tuple[str, str], object] = OrderedDict()
        self._load_lock = asyncio.Lock()

    async def register(
        self,
        model_name: str,
        *,
        kind: str,
        model: object,
        metadata: Mapping[str, Any] | None = None,
        backtest_scores: Mapping[str, Any] | None = None,
        activate: bool = True,
    ) -> ModelVersion:
        """Write the artefact, record it, and (by default) make it the active version."""
        data = await asyncio.to_thread(_dump, model)
        digest = hashlib.sha256(data).hexdigest()
        trained_at = datetime.now(UTC)
        version = f"{trained_at:%Y%m%dT%H%M%S%fZ}-{digest[:8]}"
        uri = f"{self._root}/{model_name}/{version}.joblib"
        await asyncio.to_thread(_write, uri, data, self._storage_options)
        recorded = {**(metadata or {}), "sha256": digest, "bytes": len(data)}
        async with self._pool.acquire() as connection, connection.transaction():
            # Two trainers finishing together must not leave two active versions.
            await connection.execute("SELECT pg_advisory_xact_lock(hashtext($1))", model_name)
            if activate:
                await connection.execute(
                    "UPDATE model_registry SET status = 'retired' "
                    "WHERE model_name = $1 AND status = 'active'",
                    model_name,
                )
            row = await connection.fetchrow(
                f"INSERT INTO model_registry (model_name, version, kind, artefact_uri, metadata, "
                f"backtest_scores, status, trained_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                f"RETURNING {COLUMNS}",
                model_name,
                version,
                kind,
                uri,
                _to_json(recorded),
                _to_json(backtest_scores or {}),
                "active" if activate else "candidate",
                trained_at,
            )
        assert row is not None
        return _version_of(row)

    async def active(self, model_name: str) -> ModelVersion | None:
        """The active version of a model, or None if it was never trained."""
        row = await self._pool.fetchrow(
            f"SELECT {COLUMNS} FROM model_registry WHERE model_name = $1 AND status = 'active' "
            "ORDER BY trained_at DESC LIMIT 1",
            model_name,
        )
        return None if row is None else _version_of(row)

    async def versions(self, prefix: str = "") -> list[ModelVersion]:
        """Every version of the models whose name starts with `prefix`, newest first per model."""
        rows = await self._pool.fetch(
            f"SELECT {COLUMNS} FROM model_registry WHERE model_name LIKE $1 || '%' "
            "ORDER BY model_name, trained_at DESC",
            _like_escaped(prefix),
        )
        return [_version_of(row) for row in rows]

    async def active_versions(self, prefix: str) -> dict[str, ModelVersion]:
        """The active version of each model whose name starts with `prefix`, by model name (one
        read for many models, e.g. a catalogue's, without their retired versions)."""
        rows = await self._pool.fetch(
            f"SELECT DISTINCT ON (model_name) {COLUMNS} FROM model_registry "
            "WHERE model_name LIKE $1 || '%' AND status = 'active' "
            "ORDER BY model_name, trained_at DESC",
            _like_escaped(prefix),
        )
        return {row["model_name"]: _version_of(row) for row in rows}

    async def activate(self, model_name: str, version: str) -> ModelVersion:
        """Make an earlier or candidate version the active one (a rollback)."""
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock(hashtext($1))", model_name)
            row = await connection.fetchrow(
                f"UPDATE model_registry SET status = 'active' WHERE model_name = $1 "
                f"AND version = $2 RETURNING {COLUMNS}",
                model_name,
                version,
            )
            if row is None:
                raise LookupError(f"model {model_name!r} has no version {version!r}")
            await connection.execute(
                "UPDATE model_registry SET status = 'retired' "
                "WHERE model_name = $1 AND status = 'active' AND version <> $2",
                model_name,
                version,
            )
        return _version_of(row)

    async def load(self, version: ModelVersion) -> Any:
        """The fitted model of a version; the most recently used ones stay in memory."""
        key = (version.model_name, version.version)
        async with self._load_lock:
            if key in self._loaded:
                self._loaded.move_to_end(key)
                return self._loaded[key]
        data = await asyncio.to_thread(_read, version.artefact_uri, self._storage_options)
        expected = version.metadata.get("sha256")
        if hashlib.sha256(data).hexdigest() != expected:
            raise ArtefactIntegrityError(
                f"artefact {version.artefact_uri} does not match the sha256 recorded for "
                f"{version.model_name} {version.version}"
            )
        model = await asyncio.to_thread(joblib.load, io.BytesIO(data))
        async with self._load_lock:
            self._loaded[key] = model
            while len(self._loaded) > MEMO_SIZE:
                self._loaded.popitem(last=False)
        return model
