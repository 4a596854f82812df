"""The built site (tests/conftest.py's `built_site`) served on 127.0.0.1 and visited
once, page by page, in Chromium.

Every page is loaded once per session (one browser, one context); what the
browser saw is kept in a `PageReport` per page, and the tests in this folder
assert on those reports, each naming every page that fails it.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

import ensure_browser
from docexec import config
from helpers import REPO
from site_visit import (
    SiteServer,
    discover_pages,
    print_reports,
    visit_all,
)

ARTIFACTS = REPO / "test-artifacts"
_reports: list = []


@pytest.fixture(scope="session")
def base_path() -> str:
    """The URL path the site lives under on GitHub Pages (from site_url)."""
    return config.base_path(config.load_mkdocs_config(REPO))


@pytest.fixture(scope="session")
def site_server(built_site, base_path):
    with SiteServer(built_site, base_path) as server:
        yield server


@pytest.fixture(scope="session")
def pages(built_site) -> list[str]:
    found = discover_pages(built_site)
    assert found, f"no pages found in {built_site}"
    return found


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = ensure_browser.find_chromium()
    if path is None:
        pytest.fail("no Chromium found: run `make test` (it installs one) or set CHROMIUM_PATH")
    return path


@pytest.fixture(scope="session")
def playwright():
    """One Playwright per session: the sync API allows one at a time in a thread."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright, chromium_path):
    """A Chromium for tests that need contexts of their own (a phone, a palette, a cold cache)."""
    launched = playwright.chromium.launch(executable_path=chromium_path, args=ensure_browser.LAUNCH_ARGS,
                                          headless=True)
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def browser_context(playwright, chromium_path):
    with tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=chromium_path,
            args=ensure_browser.LAUNCH_ARGS,
            headless=True,
            color_scheme="light",
            viewport={"width": 1280, "height": 800},  # the desktop (site_visit.CLAIM_VIEWPORT)
        )
        yield context
        context.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's axe.min.js as the PyPI package axe-playwright-python ships it (no npm, no download)."""
    from axe_playwright_python.base import AXE_FILE_PATH

    return AXE_FILE_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def page_reports(browser_context, site_server, pages, axe_source) -> dict:
    """Every page visited once at desktop size; {page path: PageReport} (site_visit.visit: what one load
    of each page tells test_site_browser, test_claim_boxes and test_reader's desktop screenshots)."""
    screenshots, reader_shots = ARTIFACTS / "screenshots", ARTIFACTS / "reader"
    for folder in (screenshots, reader_shots):
        folder.mkdir(parents=True, exist_ok=True)
    for stale in reader_shots.glob("desktop-*.png"):  # test_reader asserts these visits took them
        stale.unlink()
    reports = visit_all(browser_context, site_server, pages, axe_source, screenshots, reader_shots)
    _reports[:] = reports.values()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "site-report.json").write_text(
        json.dumps([report.summary() for report in reports.values()], indent=2)
    )
    return reports


@pytest.fixture(scope="session")
def docs_dir() -> Path:
    """The Markdown the site is built from, for what each page must show."""
    return config.docs_dir(REPO, config.load_mkdocs_config(REPO))


def pytest_terminal_summary(terminalreporter):
    if _reports:
        print_reports(_reports, terminalreporter.write_line)
