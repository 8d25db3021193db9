"""The multivariate view: pyod ECOD models of a shop's recent windows, refit on a schedule.

Each window of hours is a vector of the signed evidence of every tree component plus the AOV log
ratio (evidence.features); there is one model per window length, trained on the shop's own
windows of that length over the last weeks (anomalies left out). ECOD (empirical cumulative
distribution outlier detection) scores how far into the tails of those windows a vector lies,
dimension by dimension, with no parameters to tune; its outlier probability is half of an
anomaly's score. It does not decide whether a window raises: measured on the generator's
incidents, requiring or accepting its confirmation cost precision or recall (docs/metrics.md).

pyod is imported on first fit: it takes seconds to import (numba), which must not delay the
job's start, and its first fit compiles (most of a second). The job runs `load_library` in a
thread at start and judges nothing until it has finished, so neither happens on its event loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

MIN_TRAINING_WINDOWS = 96
# ECOD keeps four arrays of every score it computes (training windows included), each as large
# as its training data, and computes them afresh each time: dropped after each use, they no
# longer hold up to 0.1 MB per fitted model (six models a shop).
_ECOD_SCRATCH = ("U_l", "U_r", "U_skew", "O")


def load_library() -> None:
    """Import pyod and compile what a fit uses (one small fit): 2.8 s of CPU here with the
    packages' bytecode compiled at install (`scripts/stack setup`), 6.6 s without; then a fit
    takes a millisecond or two."""
    from pyod.models.ecod import ECOD  # type: ignore[import-untyped]

    rows = np.random.default_rng(0).random((MIN_TRAINING_WINDOWS, 4))
    ECOD().fit(rows)


class OutlierModel:
    def __init__(self, contamination: float) -> None:
        self._contamination = contamination
        self._model: Any = None
        self.fitted_at: float | None = None
        self.trained_on = 0

    def fit(self, features: npt.NDArray[np.float64], now: float) -> None:
        """Refit on the given windows (rows) at series time `now`; too few windows leave the
        previous model in place."""
        self.fitted_at = now
        if len(features) < MIN_TRAINING_WINDOWS:
            return
        from pyod.models.ecod import ECOD

        model = ECOD(contamination=self._contamination)
        model.fit(features)
        _drop_scratch(model)
        self._model = model
        self.trained_on = len(features)

    def probability(self, vector: npt.NDArray[np.float64]) -> float | None:
        """How likely one window's features are an outlier among the training windows (0..1),
        None before the first fit."""
        if self._model is None:
            return None
        proba = self._model.predict_proba(vector.reshape(1, -1), method="unify")
        _drop_scratch(self._model)
        return float(proba[0, 1])


def _drop_scratch(model: Any) -> None:
    for name in _ECOD_SCRATCH:
        vars(model).pop(name, None)
