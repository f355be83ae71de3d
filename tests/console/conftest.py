"""Attendant console test rig: the HTTP API site of tests/api (a controller on the simulated
switch, tokens for Alice 1001, Bob 1002 and an admin) and a real headless Chromium driven by
Playwright (Debian's chromium, never a browser Playwright downloads). Screenshots of the main
states go to build/screenshots/. Skipped, saying why, when Playwright or a chromium is missing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from api.conftest import api_site  # noqa: F401  (fixture reused)
from park.conftest import base_config, migrated  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "screenshots"
WAIT_MS = 5000          # the longest an expect() waits for the page


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the browser tests need Playwright for Python (pip install playwright)")
    path = chromium_path()
    if path is None:
        pytest.skip("the browser tests need a chromium: apt-get install chromium "
                    "(or CHROMIUM=/path/to/chromium); .ci/run installs it")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            yield b
        finally:
            b.close()


class Console:
    """One browser tab on the console of `site`."""

    def __init__(self, site, browser, viewport=(1280, 800)):
        from playwright.sync_api import expect
        self.site, self.expect = site, expect
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        self.context.set_default_timeout(WAIT_MS)
        expect.set_options(timeout=WAIT_MS)
        self.page = self.context.new_page()
        self.console_errors = []
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.on("pageerror", lambda e: self.console_errors.append(str(e)))

    def open(self, token=None):
        self.page.goto(self.site.base + "/console")
        if token is not None:
            self.sign_in(token)
        return self

    def sign_in(self, token):
        self.page.get_by_label("API token").fill(token)
        self.page.get_by_role("button", name="Sign in").click()
        self.expect(self.page.locator("body")).to_have_attribute("data-live", "yes")

    def shot(self, name):
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def shot_viewport(self, name) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    # what the page shows
    def orbit(self, number):
        return self.page.locator(f'#ranges li[data-orbit="{number}"]')

    def user(self, extension):
        return self.page.locator(f'#user-list li[data-user="{extension}"]')

    def calls(self):
        return self.page.locator("#call-list li")

    @property
    def outcome(self):
        return self.page.locator("#outcome")

    @property
    def error(self):
        return self.page.locator("#error")

    def close(self):
        self.context.close()


@pytest.fixture
def console(api_site, browser):  # noqa: F811
    """`console(token)` opens a tab signed in with that token (None: not signed in)."""
    tabs = []

    def open_tab(token=None, viewport=(1280, 800)):
        tab = Console(api_site, browser, viewport).open(token)
        tabs.append(tab)
        return tab
    try:
        yield open_tab
    finally:
        for tab in tabs:
            errors = list(tab.console_errors)
            tab.close()
            # a failed fetch of an error status is logged by Chromium itself; a script error is not
            assert not [e for e in errors if "Failed to load resource" not in e], errors
