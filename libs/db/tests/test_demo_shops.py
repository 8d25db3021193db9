"""Reading the demo shops from a file or a list of ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shopee_db.seed import DEFAULT_DEMO_SHOPS, MARKET_PROFILES, DemoShop, SeedError, load_shops


def test_default_shops_are_the_documented_ids_in_distinct_zones() -> None:
    assert [shop.id for shop in DEFAULT_DEMO_SHOPS] == [f"shop-id-{n}" for n in range(1, 5)]
    assert len({shop.time_zone for shop in DEFAULT_DEMO_SHOPS}) == 4


def test_bare_ids_take_the_market_profiles_in_turn(tmp_path: Path) -> None:
    path = tmp_path / "shops.json"
    ids = [f"s{n}" for n in range(len(MARKET_PROFILES) + 1)]
    path.write_text(json.dumps(ids))
    shops = load_shops(path)
    assert [shop.id for shop in shops] == ids
    assert shops[0].market == shops[-1].market == MARKET_PROFILES[0][0]


def test_objects_keep_their_fields_and_accept_generator_spellings(tmp_path: Path) -> None:
    path = tmp_path / "shops.json"
    path.write_text(
        json.dumps(
            {
                "shops": [
                    {
                        "shop_id": "a",
                        "name": "Shop A",
                        "country": "MY",
                        "currency": "MYR",
                        "time_zone": "Asia/Kuala_Lumpur",
                    },
                    {"id": "b"},
                ]
            }
        )
    )
    first, second = load_shops(path)
    assert first == DemoShop("a", "Shop A", "MY", "MYR", "Asia/Kuala_Lumpur")
    assert second.id == "b"
    assert second.time_zone == MARKET_PROFILES[0][2]


@pytest.mark.parametrize("document", [[], {"shops": "x"}, [{"name": "no id"}]])
def test_unusable_files_are_refused(tmp_path: Path, document: object) -> None:
    path = tmp_path / "shops.json"
    path.write_text(json.dumps(document))
    with pytest.raises(SeedError):
        load_shops(path)
