"""The test browser: Debian's Chromium through Playwright, or a clear error when it is missing."""

from __future__ import annotations

import pytest

from tollgate_servicekit.browser import ChromiumMissing, chromium, chromium_path

pytestmark = pytest.mark.e2e


async def test_chromium_renders_a_page() -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        await page.set_content("<label for=e>Email</label><input id=e value=ada>")
        assert await page.get_by_label("Email").input_value() == "ada"


def test_a_missing_chromium_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ChromiumMissing, match="apt-get install chromium"):
        chromium_path()
