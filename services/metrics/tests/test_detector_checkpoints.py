"""Detector checkpoints: what is read back is what was saved, and a row of the table can build
nothing but the detection domain's objects."""

from __future__ import annotations

import os
import pickle

import pytest

from shopee_metrics.adapters.detector_checkpoints import (
    CheckpointError,
    code_version,
    freeze,
    thaw,
)
from shopee_metrics.domain.anomalies import DetectorConfig, ShopDetector
from shopee_metrics.domain.anomalies.detector import _lift
from shopee_metrics.domain.anomalies.products import ProductConfig, ProductWatch


def test_a_detector_and_its_product_watch_read_back_as_they_were_saved() -> None:
    detector = ShopDetector("shop-1", DetectorConfig(), currency="IDR", market="ID")
    products = ProductWatch("shop-1", "ID")
    again, watch = thaw(freeze(detector, products))
    assert (again.shop_id, again.currency, again.market) == ("shop-1", "IDR", "ID")
    assert pickle.dumps(again) == pickle.dumps(detector)
    assert pickle.dumps(watch) == pickle.dumps(products)
    # The outlier models are not saved: they are refit from the saved windows when next used.
    assert [model.fitted_at for model in again._models] == [None] * 6


@pytest.mark.parametrize(
    "payload",
    [
        pickle.dumps(os.getcwd),  # anything outside the domain
        pickle.dumps(_lift),  # a function of the domain, not a class
        pickle.dumps(("shop-1", ProductWatch("shop-1"))),  # not a detector
        b"\x80\x05garbage",
    ],
)
def test_anything_else_is_refused(payload: bytes) -> None:
    with pytest.raises(CheckpointError):
        thaw(payload)


def test_the_version_tells_settings_apart() -> None:
    base = code_version(DetectorConfig(), ProductConfig())
    assert code_version(DetectorConfig(), ProductConfig()) == base
    assert code_version(DetectorConfig(min_evidence=5.0), ProductConfig()) != base
    assert code_version(DetectorConfig(), ProductConfig(min_evidence=7.0)) != base
