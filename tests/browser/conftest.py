"""The built site (tests/conftest.py's `built_site`) served on 127.0.0.1 and visited
once, page by page, in Chromium.

Every page is loaded once per session at desktop size, once at phone size and once on a cold
cache, and the glossary's pages once more for the tooltips: these page loops are jobs for two
Chromiums, each in a thread of its own (`site_visits`), started as soon as the site is built
and run while the other browser tests use this thread's Chromium. What the browser saw is kept
in a `PageReport` (desktop) or a dict per page, and the tests assert on those, each naming every
page that fails it. The tests that wait for them run last (tests/conftest.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import ensure_browser
from docexec import config
from helpers import REPO
from site_visit import (
    BrowserThreads,
    SiteServer,
    SiteVisits,
    discover_pages,
    print_reports,
)

ARTIFACTS = REPO / "test-artifacts"
_reports: list = []
# Chromiums visiting pages at once in site_visits (this machine, and GitHub's runners, have 2 cores).
VISIT_THREADS = 2
# The fixtures that wait for site_visits' jobs, one per page loop (SiteVisits).
VISIT_KINDS = {"page_reports", "phone_visits", "cold_visits", "glossary_tooltips"}


@pytest.fixture(scope="session")
def base_path() -> str:
    """The URL path the site lives under on GitHub Pages (from site_url)."""
    return config.base_path(config.load_mkdocs_config(REPO))


@pytest.fixture(scope="session")
def site_server(request, built_site, base_path):
    if visit_kinds(request.session):  # the site is built: start the page loops in the other browsers
        request.getfixturevalue("site_visits")
    with SiteServer(built_site, base_path) as server:
        yield server


def visit_kinds(session) -> set[str]:
    """The page loops (VISIT_KINDS) the tests of this session wait for."""
    return VISIT_KINDS & {name for item in session.items for name in getattr(item, "fixturenames", ())}


@pytest.fixture(scope="session")
def site_visits(request, chromium_path, built_site, base_path, pages, axe_source):
    """The page loops of the browser tests (those the session's tests wait for), every page a job,
    submitted at once to VISIT_THREADS Chromiums, each in a thread of its own, with a server of their
    own: they run while this thread's tests use its Chromium. Requested by `site_server` as soon as the
    site is built, and by the fixtures that wait for the loops (page_reports, phone_visits, ...)."""
    screenshots, reader_shots = ARTIFACTS / "screenshots", ARTIFACTS / "reader"
    for folder in (screenshots, reader_shots):
        folder.mkdir(parents=True, exist_ok=True)
    for stale in reader_shots.glob("*.png"):  # test_reader asserts that these visits took them
        stale.unlink()
    threads = BrowserThreads(chromium_path, ensure_browser.LAUNCH_ARGS, VISIT_THREADS)
    try:
        with SiteServer(built_site, base_path) as server:
            yield SiteVisits(threads, visit_kinds(request.session), server, built_site, base_path, pages,
                             axe_source, screenshots, reader_shots)
            threads.close()  # before the server stops: a job still running may be loading a page
    finally:
        threads.close()


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
def browser_context(browser):
    """A desktop context in `browser`: the issue's desktop (site_visit.CLAIM_VIEWPORT), light."""
    context = browser.new_context(color_scheme="light", viewport={"width": 1280, "height": 800})
    yield context
    context.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's axe.min.js as the PyPI package axe-playwright-python ships it (no npm, no download)."""
    from axe_playwright_python.base import AXE_FILE_PATH

    return AXE_FILE_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def page_reports(site_visits) -> dict:
    """Every page visited once at desktop size; {page path: PageReport} (site_visit.visit: what one load
    of each page tells test_site_browser, test_claim_boxes and test_reader's desktop screenshots)."""
    reports = site_visits.result("page_reports")
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
