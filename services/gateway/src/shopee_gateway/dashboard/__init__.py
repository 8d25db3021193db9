"""The web dashboard: static pages (Overview, Traffic, Sales, Campaigns, Customer service,
Products, Customers, Anomalies) that sign in and read the gateway's own API and `WS /ws/kpis`.

No server-side rendering and no build step: the pages are plain ES modules and the charts
uPlot (vendored, see `static/vendor/uplot/README.md`). docs/dashboard.md says what each page
shows and where its numbers come from.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"

# The page runs only its own files and talks only to its own origin (REST and WebSocket): an
# injected script could not load from elsewhere or send a token away.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def install(app: FastAPI) -> None:
    """Serve the dashboard at /dashboard/ (and send / there)."""
    app.mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/dashboard/")

    @app.get("/dashboard/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)
