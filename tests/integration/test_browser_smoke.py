"""The browser-test machinery itself: headless Chromium runs a page's ES modules, the console log
is collected (a page that throws is seen), and Selenium Manager never runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.selenium_manager import SeleniumManager
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from tests.integration.browser import Browser, headless_chromium, require_chromium

pytestmark = pytest.mark.integration

GREETING = "Rendered by an ES module"
# The empty icon keeps Chromium from asking for /favicon.ico, whose 404 would be a SEVERE entry.
HEAD = '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>smoke</title>'
PAGES = {
    "/": (
        "text/html",
        f'{HEAD}<p id="status">loading</p><script type="module" src="/app.js"></script>',
    ),
    "/app.js": (
        "text/javascript",
        'import { greeting } from "./greeting.js";\n'
        'document.getElementById("status").textContent = greeting;\n'
        'console.info("smoke page ready");\n',
    ),
    "/greeting.js": ("text/javascript", f'export const greeting = "{GREETING}";\n'),
    "/throws.html": (
        "text/html",
        f'{HEAD}<script type="module">throw new Error("smoke page failure");</script>',
    ),
}


class PageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path not in PAGES:
            self.send_error(404)
            return
        content_type, text = PAGES[self.path]
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """No line on stderr for each request."""


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """Base URL of PAGES, served from a thread on a free port of 127.0.0.1."""
    with ThreadingHTTPServer(("127.0.0.1", 0), PageHandler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()
        thread.join()


def test_module_script_renders_without_console_errors(browser: Browser, site: str) -> None:
    browser.driver.get(f"{site}/")
    WebDriverWait(browser.driver, 10).until(
        expected_conditions.text_to_be_present_in_element((By.ID, "status"), GREETING)
    )
    messages = [entry["message"] for entry in browser.console_log()]
    assert any("smoke page ready" in message for message in messages), messages
    assert browser.console_errors() == []


def test_uncaught_error_is_a_severe_console_entry(browser: Browser, site: str) -> None:
    browser.driver.get(f"{site}/throws.html")
    errors = WebDriverWait(browser.driver, 10).until(lambda _: browser.console_errors())
    assert any("smoke page failure" in entry["message"] for entry in errors), errors


def test_selenium_manager_never_runs(monkeypatch: pytest.MonkeyPatch, site: str) -> None:
    """Selenium Manager would fetch a browser and driver from the internet: the helper's paths
    keep Selenium from starting it at all."""
    require_chromium()

    def refuse(manager: SeleniumManager, args: list[str]) -> dict[str, str]:
        raise AssertionError(f"Selenium Manager was started with {args}")

    monkeypatch.setattr(SeleniumManager, "binary_paths", refuse)
    with headless_chromium() as started:
        started.driver.get(f"{site}/")
        assert started.driver.title == "smoke"
