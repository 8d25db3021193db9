"""Checkpoints of a shop's detector and product watch: pickled, compressed, and stamped with a
fingerprint of the detection code and its settings.

Without one, a started job rebuilds each shop's detector by replaying twelve weeks of hours:
about a second of CPU a shop, hours of it for thousands of shops, with detection behind until it
is done. A checkpoint is read back in about 10 ms, and only the hours judged since it are judged
again (silently: their anomalies were published when they were first judged).

Why pickle: the detector's memory is numpy arrays and small domain objects, and an explicit
format would restate every field of them and drift from the code. Two guards come with it:
- the fingerprint: a checkpoint written by other detection code or settings is not used (its
  layout or its meaning may differ); the job replays instead, as it did before checkpoints;
- an unpickler that builds only the anomaly domain's own classes, numpy arrays, deques and
  datetimes, so that a row of the table cannot make the job run anything else.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from shopee_metrics.domain import anomalies
from shopee_metrics.domain.anomalies import DetectorConfig, ShopDetector
from shopee_metrics.domain.anomalies.products import ProductConfig, ProductWatch

PROTOCOL = 5
_DOMAIN = anomalies.__name__ + "."
# What pickling a detector and a product watch refers to besides the domain's classes.
_ALLOWED = frozenset(
    {
        ("collections", "deque"),
        ("datetime", "date"),
        ("datetime", "datetime"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"),
    }
)


class CheckpointError(Exception):
    """A checkpoint that cannot be read back."""


def code_version(detector: DetectorConfig, products: ProductConfig) -> str:
    """A fingerprint of the detection code (the anomaly domain's sources), its settings and the
    pickle and numpy versions: a checkpoint is used only by what wrote it."""
    digest = hashlib.sha256()
    for path in sorted(Path(anomalies.__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    digest.update(f"{detector!r}|{products!r}|pickle {PROTOCOL}|numpy {np.__version__}".encode())
    return digest.hexdigest()[:16]


def freeze(detector: ShopDetector, products: ProductWatch) -> bytes:
    """The shop's detector and product watch as bytes (not compressed)."""
    return pickle.dumps((detector, products), protocol=PROTOCOL)


def thaw(data: bytes) -> tuple[ShopDetector, ProductWatch]:
    """What `freeze` wrote; CheckpointError if it is anything else."""
    try:
        detector, products = _DomainUnpickler(io.BytesIO(data)).load()
    except Exception as exc:
        raise CheckpointError(str(exc)) from exc
    if not isinstance(detector, ShopDetector) or not isinstance(products, ProductWatch):
        raise CheckpointError("not a detector and a product watch")
    return detector, products


class _DomainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        if module.startswith(_DOMAIN):
            found = super().find_class(module, name)
            # A class defined there, not a function or module imported into it.
            if isinstance(found, type) and found.__module__ == module:
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a detector checkpoint")
