"""The explore report in a real headless Chromium: figures draw, the console stays clean, and the
page asks for nothing but its own file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from labsight.explore import ExploreReport
from labsight.explore.gallery import example_analysis

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        message = f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI must provide it")
        pytest.skip(message)
    pytest.importorskip("playwright.sync_api", reason="browser tests need playwright (Python)")
    return CHROMIUM


def _report() -> ExploreReport:
    return ExploreReport(example_analysis(), title="reactions.csv")


@contextmanager
def _page(chromium: Path, errors: list[str], foreign: list[str]) -> Iterator[Any]:
    """A page in headless Chromium that records console errors and any request off the file."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on(
                "request",
                lambda r: (
                    None
                    if r.url.startswith(("file://", "data:", "blob:"))
                    else foreign.append(r.url)
                ),
            )
            yield page
        finally:
            browser.close()


def test_explore_report_renders_offline_in_chromium(chromium: Path, tmp_path: Path) -> None:
    report = _report()
    path = report.to_html(tmp_path / "report.html")
    errors: list[str] = []
    foreign: list[str] = []
    with _page(chromium, errors, foreign) as page:
        page.goto(path.as_uri())
        page.wait_for_selector(".main-svg", timeout=30_000)
        page.wait_for_function(
            f"document.querySelectorAll('.js-plotly-plot').length === {len(report.specs)}",
            timeout=30_000,
        )
        drawn = page.eval_on_selector_all(
            ".ls-plot", "els => els.map(e => e.querySelector('.main-svg') !== null)"
        )
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        # A finding's link lands on its column's section.
        page.click("table.ls-findings a")
        target = page.evaluate("location.hash")
    assert errors == []
    assert foreign == []
    assert all(drawn), (
        f"figures not drawn: {[s.name for s, ok in zip(report.specs, drawn, strict=True) if not ok]}"
    )
    assert target.startswith("#col-time-min")
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert len(data) > 100_000


@pytest.mark.slow
def test_explore_report_of_the_shipped_example_renders_offline(
    chromium: Path, tmp_path: Path
) -> None:
    from labsight.examples import example_path
    from labsight.explore import explore

    report = explore(example_path("chem_proc_yield"), target="yield")
    path = report.to_html(tmp_path / "report.html")
    errors: list[str] = []
    foreign: list[str] = []
    with _page(chromium, errors, foreign) as page:
        page.goto(path.as_uri())
        page.wait_for_function(
            f"document.querySelectorAll('.ls-plot .main-svg').length >= {len(report.specs)}",
            timeout=60_000,
        )
    assert errors == []
    assert foreign == []
