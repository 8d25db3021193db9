"""Headless Chromium for browser tests of the dashboard, driven through Selenium.

Debian's chromium and chromium-driver (`scripts/stack browser` installs them; scripts/test runs
it) are handed to Selenium by path: with a driver path in its Service, Selenium never runs
Selenium Manager, the tool that would otherwise download a browser and a driver from the
internet.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict
from unittest import mock

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_ARGUMENTS = (
    # As root in a container: no sandbox without user namespaces, a small /dev/shm, no GPU.
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--window-size=1400,1000",
    # No name but localhost resolves: Chromium's own background fetches (component updates,
    # Google sign-in), which --disable-background-networking leaves on, never leave the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
)
# Were Selenium Manager to run after all, it would neither download nor send usage statistics.
SELENIUM_MANAGER_OFFLINE = {"SE_OFFLINE": "true", "SE_AVOID_STATS": "true"}


class ConsoleEntry(TypedDict):
    """One browser console entry as chromedriver reports it."""

    level: str  # SEVERE for console.error, uncaught exceptions and failed resource loads
    message: str
    source: str
    timestamp: int


@dataclass
class Browser:
    """A headless Chromium session and what its pages have written to the console so far."""

    driver: webdriver.Chrome
    console: list[ConsoleEntry] = field(default_factory=list)

    def console_log(self) -> list[ConsoleEntry]:
        """Every console entry since the start (chromedriver hands out each entry only once)."""
        # Selenium leaves get_log's parameter unannotated (warn_unused_ignores flags a fix).
        self.console.extend(self.driver.get_log("browser"))  # type: ignore[no-untyped-call]
        return self.console

    def console_errors(self) -> list[ConsoleEntry]:
        return [entry for entry in self.console_log() if entry["level"] == "SEVERE"]


def require_chromium() -> None:
    """Skip the test where Debian's chromium or chromedriver is missing, but fail in CI, whose
    scripts/test installs them: there a missing browser is a broken setup."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if missing:
        reason = f"{', '.join(missing)} not installed; `scripts/stack browser` installs them"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@contextmanager
def headless_chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless; the driver, and with it the browser, always quits."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in CHROMIUM_ARGUMENTS:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with mock.patch.dict(os.environ, SELENIUM_MANAGER_OFFLINE):
        driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield Browser(driver)
    finally:
        driver.quit()
