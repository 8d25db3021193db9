"""Elasticities against the generator's truth, alone and quickly re-run (`bench/insights.py`
scores them too, among everything else).

    uv run --frozen shopee-generator history --out .run/bench/history.ndjson --end 2026-11-24
    uv run --frozen python -m bench.elasticities --events .run/bench/history.ndjson \
        --labels .run/bench/history.labels.json

Per shop: the demand panels (`demand_panels`: the price each viewer saw, add-to-carts and views
per cell), then every product's elasticity (`estimate_elasticities`) scored by
`shopee_insights.evaluation.score_elasticities`: how many are within 20% of the truth, how many
the data pin down to +-20% (`Elasticity.precise`) and how many of those are within 20%, and the
calibration of the errors ((estimate - truth) / standard error should spread 1).

Building the panels is most of the time (minutes per shop); they are cached under
.cache/elasticity-panels/, keyed by the events file and the code that builds them, so a change to
the estimator alone re-runs in one to a few minutes (the fits) instead of 15 or more.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
from rich.progress import Progress

import shopee_common.marketplace
import shopee_insights.adapters.event_files
import shopee_insights.domain.price_panel
import shopee_insights.domain.shop_data
from bench.machine import describe_machine
from shopee_insights.adapters.event_files import read_event_file
from shopee_insights.domain.pricing import DemandPanels, demand_panels
from shopee_insights.evaluation import elasticity_totals, score_elasticities

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "elasticity-panels"
# The modules whose code decides the panels: a change to any of them makes other panels.
PANEL_CODE = (
    shopee_insights.adapters.event_files,
    shopee_insights.domain.shop_data,
    shopee_insights.domain.price_panel,
    shopee_common.marketplace,
)

Panels = dict[str, tuple[DemandPanels, pd.Series]]


def _cache_key(events: Path) -> str:
    stat = events.stat()
    digest = hashlib.sha256(f"{events.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    for module in PANEL_CODE:
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


def _read(path: Path) -> Any:
    return pd.read_pickle(path)  # noqa: S301 - this script's own cache, written below


def load_panels(events: Path, progress: Progress) -> Panels:
    """Each shop's demand panels and product categories, from the cache when it holds them."""
    folder = CACHE / _cache_key(events)
    if (folder / "done").exists():
        return {
            path.name: (
                DemandPanels(_read(path / "conversion.pkl"), _read(path / "views.pkl")),
                _read(path / "categories.pkl"),
            )
            for path in sorted(folder.iterdir())
            if path.is_dir()
        }
    task = progress.add_task(f"reading {events.name}", total=None)
    shops = read_event_file(events)
    progress.update(task, total=len(shops), completed=0)
    panels: Panels = {}
    for shop_id, data in shops.items():
        progress.update(task, description=f"panels {shop_id}")
        panels[shop_id] = (demand_panels(data), data.products["category"].astype(str))
        progress.advance(task)
    for shop_id, (shop_panels, categories) in panels.items():
        path = folder / shop_id
        path.mkdir(parents=True, exist_ok=True)
        shop_panels.conversion.to_pickle(path / "conversion.pkl")
        shop_panels.views.to_pickle(path / "views.pkl")
        categories.to_pickle(path / "categories.pkl")
    (folder / "done").touch()
    return panels


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--events", type=Path, required=True, help="the generator's NDJSON")
    parser.add_argument("--labels", type=Path, required=True, help="its labels file")
    parser.add_argument("--out", type=Path, help="write the scores here as JSON too")
    args = parser.parse_args()
    truth = json.loads(args.labels.read_text())["elasticities"]
    started = time.perf_counter()
    with Progress() as progress:
        panels = load_panels(args.events, progress)
        panels_seconds = time.perf_counter() - started
        task = progress.add_task("fitting", total=len(panels))
        scores: dict[str, Any] = {}
        for shop_id, (shop_panels, categories) in panels.items():
            progress.update(task, description=f"fitting {shop_id}")
            scores[shop_id] = score_elasticities(shop_panels, categories, truth[shop_id])
            progress.advance(task)
    fits_seconds = time.perf_counter() - started - panels_seconds
    print(f"{describe_machine()}; panels {panels_seconds:.0f} s, fits {fits_seconds:.0f} s")
    print(
        "| shop | fitted | within 20% | own fit within 20% | enough variation | within 20% "
        "| error / SE spread |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for shop_id, shop in scores.items():
        print(
            f"| {shop_id} | {shop['fitted']} | {shop['fitted_within_20pct']} | "
            f"{shop['own_within_20pct']} | {shop['enough_variation']} | {shop['within_20pct']} | "
            f"{shop['error_z_spread']:.2f} |"
        )
    total = elasticity_totals(scores.values())
    print(
        f"| all | {total['fitted']} | {total['fitted_within_20pct']} | "
        f"{total['own_within_20pct']} | {total['enough_variation']} | {total['within_20pct']} | |"
    )
    for shop_id, shop in scores.items():
        for miss in shop["misses"]:
            print(
                f"precise but not within 20%: {shop_id} {miss['product_id']} estimate "
                f"{miss['estimate']:.3f} (SE {miss['std_error']:.3f}), truth {miss['truth']:.3f}, "
                f"off by {miss['relative_error']:.0%}"
            )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"all_shops": total, **scores}, indent=2) + "\n")


if __name__ == "__main__":
    main()
