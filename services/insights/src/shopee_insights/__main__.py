"""Entry point: `python -m shopee_insights` serves; `shopee-insights --help` lists commands."""

from __future__ import annotations

from shopee_insights.cli import app


def main() -> None:
    app()


if __name__ == "__main__":
    main()
