"""A real headless Chromium for the browser tests (dashboard, API docs), driven by Selenium."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
DOWNLOADS = Path(tempfile.mkdtemp(prefix="cachemeter-downloads-"))


def chromium() -> Iterator[Any]:
    """A Chromium session (the `browser` fixture), with the console log kept for reading."""
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI"):
            pytest.fail(
                "CI must run the browser tests: install Debian's chromium and chromium-driver"
            )
        pytest.skip("chromium/chromedriver not installed (make test installs them as root)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="cachemeter-chromium-")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1000",
        # A desktop with a mouse: headless Chromium otherwise answers (hover: none), and pages
        # (Plotly's hover-only tool bar) behave as on a touch screen.
        "--blink-settings=primaryHoverType=2,availableHoverTypes=2,"
        "primaryPointerType=4,availablePointerTypes=4",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(DOWNLOADS), "download.prompt_for_download": False},
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait(driver: Any, condition: Any, timeout: float = 30) -> Any:
    """Wait until `condition(driver)` is truthy and return it."""
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
        WebDriverException,
    )
    from selenium.webdriver.support.ui import WebDriverWait

    def look(d: Any) -> Any:
        try:
            return condition(d)
        except WebDriverException as error:
            # Chromium reports an element whose page is being replaced (a form post navigating
            # away) as this generic error rather than as a stale element: the same "look again".
            if "does not belong to the document" in str(error.msg):
                return False
            raise

    # Dash re-renders components: an element found a moment ago may be replaced before it is
    # read, which only means "look again".
    return WebDriverWait(
        driver, timeout, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
    ).until(look)
