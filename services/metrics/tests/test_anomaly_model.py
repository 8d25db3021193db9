"""The outlier model: the same probabilities as pyod's ECOD, without keeping its scratch."""

from __future__ import annotations

import numpy as np
from pyod.models.ecod import ECOD  # type: ignore[import-untyped]

from shopee_metrics.domain.anomalies.model import OutlierModel


def _array_bytes(model: object) -> int:
    return sum(v.nbytes for v in vars(model).values() if isinstance(v, np.ndarray))


def test_probabilities_are_ecods_and_only_the_training_windows_are_kept() -> None:
    rng = np.random.default_rng(3)
    windows = rng.normal(size=(600, 5))
    vectors = [rng.normal(size=5), np.array([6.0, -5.0, 0.0, 4.0, 0.0])]
    model = OutlierModel(contamination=0.01)
    model.fit(windows, now=0.0)
    reference = ECOD(contamination=0.01).fit(windows)
    for vector in vectors:
        expected = reference.predict_proba(vector.reshape(1, -1), method="unify")[0, 1]
        assert model.probability(vector) == expected
    assert model.probability(vectors[1]) > 0.9 > model.probability(vectors[0])
    # The training windows and their scores; not four more arrays of the windows' size.
    assert _array_bytes(model._model) < 1.5 * windows.nbytes < _array_bytes(reference)
