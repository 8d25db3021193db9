"""Choosing the storage path from what the server offers."""

from __future__ import annotations

import pytest

from shopee_db.storage import StoragePath, TimescaleAvailability, choose_storage_path

MISSING = TimescaleAvailability(available=False, preloaded=False, installed_version=None)
NOT_PRELOADED = TimescaleAvailability(available=True, preloaded=False, installed_version=None)
LOADABLE = TimescaleAvailability(available=True, preloaded=True, installed_version=None)
INSTALLED = TimescaleAvailability(available=True, preloaded=True, installed_version="2.17.2")


@pytest.mark.parametrize(
    ("availability", "expected"),
    [
        (MISSING, StoragePath.POSTGRES),
        # Packaged but not in shared_preload_libraries: CREATE EXTENSION would fail.
        (NOT_PRELOADED, StoragePath.POSTGRES),
        (LOADABLE, StoragePath.TIMESCALEDB),
        (INSTALLED, StoragePath.TIMESCALEDB),
    ],
)
def test_auto_uses_timescaledb_only_when_it_can_be_loaded(
    availability: TimescaleAvailability, expected: StoragePath
) -> None:
    assert choose_storage_path("auto", availability) is expected


def test_an_explicit_choice_wins_when_possible() -> None:
    assert choose_storage_path("postgres", INSTALLED) is StoragePath.POSTGRES
    assert choose_storage_path("timescaledb", LOADABLE) is StoragePath.TIMESCALEDB


def test_timescaledb_is_refused_when_the_server_cannot_load_it() -> None:
    with pytest.raises(RuntimeError, match="cannot load the extension"):
        choose_storage_path("timescaledb", NOT_PRELOADED)
