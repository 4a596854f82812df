"""Every page of the built site, as Chromium shows it to a reader.

Pages are found in the built site (every HTML file but 404.html), never listed
here. Each test checks one property on all pages and names every page that
fails it. The numbers behind them are printed at the end of the run and saved
to test-artifacts/site-report.json; screenshots go to test-artifacts/screenshots/.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from site_visit import settled_results

# A first visit to any page may transfer at most 500 kB (headers + bodies, no cache,
# text gzipped as GitHub Pages serves it): about 2.5 s at the 1.6 Mbit/s of
# Lighthouse's mobile profile. Measured when set: 109-127 kB per Markdown page
# (Material's CSS, JavaScript and search worker 72 kB, the search index 38 kB),
# 204 kB for the notebook page.
PAGE_WEIGHT_BUDGET = 500_000

EXEC_FENCE = re.compile(r"^\s*(?:`{3,}|~{3,})\s*python\s+exec\b(.*)$", re.MULTILINE)
NOSCRIPT = re.compile(r"<noscript\b.*?</noscript>", re.DOTALL)


def failures(page_reports, problems_of) -> dict[str, object]:
    found = {path: problems_of(report) for path, report in page_reports.items()}
    return {path: problems for path, problems in found.items() if problems}


def test_every_page_is_served(page_reports):
    assert failures(page_reports, lambda r: r.status != 200 and f"HTTP {r.status}") == {}


def test_no_console_errors(page_reports):
    assert failures(page_reports, lambda r: r.console_errors) == {}


def test_no_failed_requests(page_reports):
    assert failures(page_reports, lambda r: r.failed_requests) == {}


def test_nothing_is_requested_from_another_host(page_reports):
    assert failures(page_reports, lambda r: r.foreign_requests) == {}


def test_every_output_claim_and_formula_is_visible(page_reports):
    def hidden(report):
        content = report.content
        return {kind: content[kind]["problems"] for kind in ("outputs", "claims", "maths")
                if content[kind]["problems"]}

    assert failures(page_reports, hidden) == {}


def test_every_figure_loaded_with_alt_text(page_reports):
    def broken(report):
        return report.content["figures"]["problems"] + report.content["images"]["problems"]

    assert failures(page_reports, broken) == {}


def test_no_latex_left_unrendered(page_reports):
    assert failures(page_reports, lambda r: r.content["raw_tex"]) == {}


def expected_blocks(docs_dir: Path) -> dict[str, set[str]]:
    """What each page's exec fences promise it shows: claims, figures, and the code of every
    other block that is not hidden (what it prints, if anything, is under its code)."""
    expected = defaultdict(set)
    for markdown in docs_dir.rglob("*.md"):
        page = page_path(markdown.relative_to(docs_dir).as_posix())
        # What a <noscript> holds is not drawn when scripts run, as they do here.
        text = NOSCRIPT.sub("", markdown.read_text(encoding="utf-8"))
        for options in EXEC_FENCE.findall(text):
            if "claim=" in options:
                expected[page].add("claims")
            elif "alt=" in options:
                expected[page].add("figures")
            elif not re.search(r"\bhidden\b", options):
                expected[page].add("code")
    return expected


def page_path(markdown: str) -> str:
    stem = markdown.removesuffix(".md")
    if stem == "index" or stem.endswith("/index"):
        return stem.removesuffix("index")
    return stem + "/"


def test_executed_blocks_render_where_the_markdown_has_them(page_reports, docs_dir):
    expected = expected_blocks(docs_dir)
    missing = {
        page: sorted(kind for kind in kinds
                     if page not in page_reports or page_reports[page].content[kind]["count"] == 0)
        for page, kinds in expected.items()
    }
    assert {page: kinds for page, kinds in missing.items() if kinds} == {}
    totals = {kind: sum(r.content[kind]["count"] for r in page_reports.values())
              for kind in ("code", "figures", "claims")}
    for kind in set().union(*expected.values()) if expected else ():
        assert totals[kind] > 0, f"the pages promise {kind} but the site shows none: {totals}"


def test_no_serious_or_critical_accessibility_violation(page_reports):
    def serious(report):
        return [f"{v['id']} ({v['impact']}, {v['nodes']} nodes): {v['help']} at {v['targets']}"
                for v in report.axe_violations if v["impact"] in ("serious", "critical")]

    assert failures(page_reports, serious) == {}


def test_dark_palette_is_accessible_too(page_reports):
    def serious(report):
        return [f"{v['id']}: {v['targets']}" for v in report.dark_axe_violations
                if v["impact"] in ("serious", "critical")]

    assert failures(page_reports, serious) == {}


def test_palette_toggle_switches_light_and_dark(page_reports):
    def broken(report):
        toggle = report.palette
        return None if toggle == {"start": "default", "toggled": "slate", "back": "default",
                                  "background_changed": True} else toggle

    assert failures(page_reports, broken) == {}


def test_page_weight_within_budget(page_reports):
    assert failures(
        page_reports,
        lambda r: r.transferred_bytes > PAGE_WEIGHT_BUDGET
        and f"{r.transferred_bytes} bytes > budget {PAGE_WEIGHT_BUDGET}",
    ) == {}
    assert all(r.transferred_bytes > 0 for r in page_reports.values())


def test_screenshot_saved_for_every_page(page_reports):
    def missing(report):
        shot = Path(report.screenshot)
        return not (shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n") and str(shot)

    assert failures(page_reports, missing) == {}


def test_every_page_is_in_the_sitemap(built_site, pages, base_path):
    sitemap = (built_site / "sitemap.xml").read_text(encoding="utf-8")
    listed = {re.sub(r"^https?://[^/]+" + re.escape(base_path), "", loc)
              for loc in re.findall(r"<loc>([^<]+)</loc>", sitemap)}
    assert listed == set(pages)


def tokens_by_page(built_site: Path) -> dict[str, set[str]]:
    """The words search indexes on each page, split as Material's search splits them."""
    index = json.loads((built_site / "search" / "search_index.json").read_text(encoding="utf-8"))
    separator = re.compile(index["config"]["separator"])
    tokens = defaultdict(set)
    for doc in index["docs"]:
        text = re.sub(r"<[^>]+>", " ", doc["title"] + " " + doc["text"]).lower()
        # lunr's trimmer strips non-word characters from both ends of a token.
        tokens[doc["location"].split("#")[0]].update(
            re.sub(r"^\W+|\W+$", "", token) for token in separator.split(text)
        )
    return tokens


def unique_term(built_site: Path) -> tuple[str, str]:
    """A word on one page only, whose first five letters start no token on any other page.

    The prefix rule keeps lunr's stemming and Material's trailing wildcard from
    matching the word on another page.
    """
    tokens = tokens_by_page(built_site)
    candidates = []
    for page, own in tokens.items():
        elsewhere = {t[:5] for other, ts in tokens.items() if other != page for t in ts}
        candidates += [(word, page) for word in own
                       if re.fullmatch("[a-z]{7,}", word) and word[:5] not in elsewhere]
    assert candidates, "no word occurs on exactly one page: cannot test search"
    return min(candidates)


def search_for(page, term: str, results, attempts: int = 10) -> None:
    """Type `term` as a reader does (Material searches on key-up, not on input events),
    again if needed: a query typed before the worker has built its index is dropped."""
    box = page.locator("input.md-search__input")
    for _ in range(attempts):
        box.fill("")
        box.press_sequentially(term)
        try:
            results.first.wait_for(state="attached", timeout=2_000)
            return
        except PlaywrightTimeoutError:
            continue
    raise AssertionError(f"search for {term!r} showed no result in {attempts} attempts")


def test_search_finds_a_term_on_its_only_page(browser_context, site_server, built_site):
    term, page_location = unique_term(built_site)
    page = browser_context.new_page()
    try:
        page.goto(site_server.root, wait_until="networkidle")
        results = page.locator(".md-search-result__item .md-search-result__link")
        search_for(page, term, results)
        found = {urlsplit(href).path for href in settled_results(page, results, absolute=True)}
    finally:
        page.close()
    assert found == {urlsplit(site_server.root + page_location).path}, f"searched for {term!r}"


def test_missing_page_gets_the_styled_404_page(browser_context, site_server):
    page = browser_context.new_page()
    loaded = []
    page.on("requestfinished", lambda request: loaded.append(request.url))
    try:
        response = page.goto(site_server.root + "no/such/page/", wait_until="networkidle")
        stylesheets = page.evaluate("document.styleSheets.length")
        heading = page.locator("h1").first.inner_text()
    finally:
        page.close()
    assert response.status == 404
    assert "404" in heading
    # The 404 page links its assets root-absolutely through site_url's path.
    assert stylesheets >= 2 and any(url.endswith(".css") for url in loaded)
