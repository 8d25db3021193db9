"""Entry point: `python -m shopee_forecast` serves; `shopee-forecast --help` lists the commands."""

from __future__ import annotations

from shopee_forecast.cli import main

if __name__ == "__main__":
    main()
