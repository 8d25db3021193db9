"""Daily series from the public CSV layouts."""

from __future__ import annotations

import math
from pathlib import Path

from shopee_forecast.csv_series import CsvFormat, read_daily_series


def test_prophet_files_are_sorted_exponentiated_and_gaps_carried(tmp_path: Path) -> None:
    path = tmp_path / "wp.csv"
    path.write_text('"ds","y"\n"2020-01-03",1.0\n"2020-01-01",0.0\n')
    frame = read_daily_series(path, CsvFormat.PROPHET, log_values=True)
    assert frame["ds"].dt.day.tolist() == [1, 2, 3]
    assert frame["y"].tolist() == [1.0, 1.0, math.e]


def test_online_retail_sums_sales_per_day_without_cancellations(tmp_path: Path) -> None:
    path = tmp_path / "retail.csv"
    path.write_text(
        '"InvoiceNo","StockCode","Description","Quantity","InvoiceDate","UnitPrice","CustomerID","Country"\n'
        '"1","A","x",2,"2011-03-10 16:16:00",2.5,NA,"UK"\n'
        '"2","B","y",1,"2011-03-10 09:00:00",4.0,1,"UK"\n'
        '"C3","B","y",-1,"2011-03-11 09:00:00",4.0,1,"UK"\n'
        '"4","B","y",3,"2011-03-12 09:00:00",1.0,1,"UK"\n'
    )
    frame = read_daily_series(path, CsvFormat.ONLINE_RETAIL)
    assert frame["y"].tolist() == [9.0, 0.0, 3.0]
