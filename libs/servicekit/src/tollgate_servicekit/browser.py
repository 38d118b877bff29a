"""A real browser for tests: Debian's `chromium` package driven by Playwright from PyPI (no browser download).

Playwright is a test dependency (the workspace's dev group), imported only when a browser is launched. A missing
Chromium is an error that says how to install it, never a reason to skip: `make test` installs it.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.async_api import Browser

CHROMIUM_ARGS = (
    "--no-sandbox",  # tests run as root in CI, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-dev-shm-usage",  # containers give /dev/shm 64 MB
    "--no-first-run",
    "--disable-background-networking",  # no calls home: tests stay on loopback
    "--disable-component-update",
    "--disable-sync",
)


class ChromiumMissing(RuntimeError):
    """No `chromium` on PATH."""


def chromium_path() -> str:
    """The `chromium` executable; `ChromiumMissing` saying how to install it."""
    path = shutil.which("chromium")
    if path is None:
        raise ChromiumMissing(
            "chromium is not installed: the browser tests drive Debian's chromium package "
            "(`apt-get install chromium`; `make test` installs it)"
        )
    return path


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium for the block; closed (with Playwright's driver) on the way out."""
    path = chromium_path()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=path, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            await browser.close()
