"""The site in a reader's hands (issue 24): a phone, both palettes, search, weight.

- At 390x844 (a phone), on every page: the page never scrolls sideways, every figure opens full
  size on a tap (glightbox), and the explorer's cells are at least 24 CSS px.
- axe-core finds nothing serious or critical at phone size (light: every rule; dark: the colour
  rules), as tests/test_site_browser.py checks at desktop size.
- Material's own search, typed in the box as a reader does: the first result for each query of
  SEARCHES is the page that explains it.
- A first visit to any page, on an empty cache, transfers at most PAGE_BUDGET (every request
  until the network is idle, as the local server gzips and sends it, as GitHub Pages does), and
  explorer.js loads only on the pages that have an explorer.
- Screenshots of SCREENSHOT_PAGES (site_visit.py) at both sizes in both palettes go to
  test-artifacts/reader/: taken by the phone and desktop visits (site_visit.phone_visit, site_visit.visit).

The page loops (phone, cold cache, glossary tooltips) run in the browser threads of conftest's
`site_visits`, page by page, while this module's other tests run; the tests here assert on what they saw.

Numbers measured are written to test-artifacts/reader-report.json.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from site_visit import (
    DESKTOP,
    PHONE,
    SCREENSHOT_PAGES,
    context_options,
    screenshot_name,
    settled_results,
    shown_tooltip,
)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
MIN_CELL_PX = 24
# What a first visit to a page transfers, everything included (issue 24): at most 160 kB.
PAGE_BUDGET = 160_000

# What a reader types, and the page that explains it (the first result must be that page).
SEARCHES = {
    "reflect": "padding-gradient/",
    "kernel gradient": "kernel-gradient/",
    "stride": "strides-dilation-causal/",
    "PyTorch": "backends/",
    "model.fit": "backends/",
    "memory": "in-practice/",
    "causal": "strides-dilation-causal/",
    "mask": "data-padding/",
    "odd zero": "forward-pass/",
    "transpose": "strides-dilation-causal/",
    "dilation": "strides-dilation-causal/",
    "XLA": "backends/",
}

report: dict = {}


@pytest.fixture(scope="module", autouse=True)
def save_report():
    yield
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "reader-report.json").write_text(json.dumps(report, indent=2) + "\n")


def new_context(browser, viewport, scheme):
    return browser.new_context(**context_options(viewport, scheme))


@pytest.fixture(scope="module")
def phone_visits(site_visits):
    """Every page at phone size, loaded once (site_visit.phone_visit, in site_visits' browsers): in the light
    palette PHONE_CHECK_JS's answer, a tap on each figure and axe-core's serious and critical findings (every
    rule); then, switched to the dark palette with Material's toggle as a reader does, PHONE_CHECK_JS again
    and axe-core's colour rules. {(scheme, page path): what was found}"""
    visits = {key: found for visit in site_visits.result("phone_visits").values() for key, found in visit.items()}
    report["phone"] = {f"{scheme} {path or '/'}": visit for (scheme, path), visit in visits.items()}
    return visits


def test_no_page_scrolls_sideways_on_a_phone(phone_visits):
    sideways = {f"{scheme} {path or '/'}": (visit["scroll_width"], visit["wide"])
                for (scheme, path), visit in phone_visits.items()
                if visit["scroll_width"] > visit["width"] or visit["wide"]}
    assert sideways == {}


def test_every_figure_opens_full_size_on_a_tap(phone_visits):
    figures = sum(visit["figures"] for (scheme, _), visit in phone_visits.items() if scheme == "light")
    assert figures >= 10, "the pages draw figures: the check found too few to be looking at them"
    problems = {path or "/": visit["unlinked"] + visit["taps"]
                for (scheme, path), visit in phone_visits.items()
                if scheme == "light" and (visit["unlinked"] or visit["taps"])}
    assert problems == {}


def test_explorer_cells_are_big_enough_to_tap(phone_visits):
    cells = {f"{scheme} {path}": visit["smallest_cell"] for (scheme, path), visit in phone_visits.items()
             if visit["smallest_cell"] is not None}
    assert {"light explore/", "light input-gradient/"} <= set(cells)
    assert {page: size for page, size in cells.items() if size < MIN_CELL_PX} == {}


def test_nothing_serious_for_axe_on_a_phone_in_either_palette(phone_visits):
    serious = {f"{scheme} {path or '/'}": visit["axe"] for (scheme, path), visit in phone_visits.items()
               if visit["axe"]}
    assert serious == {}


@pytest.fixture(scope="module")
def search_results(browser, site_server):
    """The first result Material's search shows for each query, typed in the box."""
    context = new_context(browser, DESKTOP, "light")
    page = context.new_page()
    firsts = {}
    try:
        page.goto(site_server.root, wait_until="networkidle")
        results = page.locator(".md-search-result__item > .md-search-result__link")
        box = page.locator("input.md-search__input")
        for query in SEARCHES:
            firsts[query] = None
            for _ in range(10):  # a query typed before the worker has its index is dropped
                box.fill("")
                box.press_sequentially(query)
                try:
                    results.first.wait_for(state="attached", timeout=2_000)
                except PlaywrightTimeoutError:
                    continue
                hrefs = settled_results(page, results)
                if hrefs:
                    firsts[query] = hrefs[0].split("?")[0].split("#")[0].removeprefix(site_server.root)
                    break
    finally:
        context.close()
    report["search_first_results"] = firsts
    return firsts


@pytest.mark.parametrize("query", list(SEARCHES))
def test_search_puts_the_page_that_explains_first(search_results, query):
    assert search_results[query] == SEARCHES[query]


def test_every_page_is_light_on_a_cold_cache_and_explorer_js_loads_only_where_used(cold_visits):
    """Each page as a first visit (site_visit.cold_visit, in site_visits' browsers): a fresh browser context
    (an empty cache), the page loaded until the network is idle, and every byte the local server sent for
    it counted (status line, headers and gzipped body, as GitHub Pages gzips): HTML, CSS, JavaScript, the
    search worker and the index it loads, images, fonts. Each page within PAGE_BUDGET."""
    cold = {path: visit["sent"] for path, visit in cold_visits.items()}
    explorer_pages = {path for path, urls in cold.items() if any(url.endswith("/assets/explorer.js") for url in urls)}
    assert {path or "/" for path, visit in cold_visits.items() if visit["has_explorer"] != (path in explorer_pages)} \
        == set(), "a page with an explorer without explorer.js, or explorer.js without an explorer"
    totals = {path: sum(urls.values()) for path, urls in cold.items()}
    heaviest = max(totals, key=totals.get)
    report["cold_transfer_bytes"] = totals
    report["heaviest_page"] = {"page": heaviest or "/", "bytes": totals[heaviest],
                               "requests": dict(sorted(cold[heaviest].items(), key=lambda item: -item[1]))}
    assert {path or "/": total for path, total in totals.items() if total > PAGE_BUDGET} == {}
    assert [path or "/" for path, urls in cold.items() if not any(url.endswith("search_index.json") for url in urls)] \
        == [], "the search index is part of a first visit: the count missed it"
    assert explorer_pages == {"explore/", "input-gradient/"}


@pytest.fixture(scope="module")
def cold_visits(site_visits) -> dict[str, dict]:
    return site_visits.result("cold_visits")


@pytest.fixture(scope="module")
def glossary_tooltips(site_visits) -> tuple[set, dict]:
    return site_visits.result("glossary_tooltips")


def test_explorer_survives_instant_navigation(browser, site_server):
    """From the home page to the explorer by Material's instant navigation: it draws, once."""
    context = new_context(browser, DESKTOP, "light")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(site_server.root, wait_until="networkidle")
        page.locator(".md-nav__link[href$='explore/']").first.click()
        page.wait_for_selector(".padding-explorer .pe-svg", timeout=10_000)
        assert page.locator(".padding-explorer").first.locator(".pe-controls").count() == 1
        assert page.locator(".padding-explorer .is-selected").count() >= 1, "an output is preselected"
        page.locator(".md-nav__link[href$='backends/']").first.click()
        page.wait_for_selector(".tabbed-set", timeout=10_000)
        labels = page.locator(".tabbed-set").first.locator(".tabbed-labels label")
        if labels.count() > 1:
            labels.nth(1).click()
            checked = page.locator(".tabbed-set").first.locator(":scope > input").nth(1)
            assert checked.is_checked(), "a backend's tab still switches after instant navigation"
    finally:
        context.close()
    assert errors == []


def test_glossary_tooltips_show_their_whole_definition_on_keyboard_focus(glossary_tooltips):
    """Each glossary term, reached from the keyboard (focus) on the first page that uses it: its
    tooltip shows its definition as written (site_visit.glossary_tooltips, in site_visits' browsers).
    (Material renders a title as HTML: the adjoint's "<Ax, g>" was read as a tag and vanished.)"""
    seen, wrong = glossary_tooltips
    assert len(seen) >= 8, "the pages use the glossary's terms: too few found to be looking at them"
    assert wrong == {}


def test_glossary_tooltip_shows_on_a_tap(browser, site_server):
    """A phone (Chromium emulating touch): a tap on a glossary term shows its definition, on screen."""
    context = new_context(browser, PHONE, "light")
    page = context.new_page()
    try:
        page.goto(site_server.root + "padding-gradient/", wait_until="networkidle")
        term = page.locator(".md-content abbr[title]").first
        term.scroll_into_view_if_needed()
        definition = term.get_attribute("title")
        term.tap()
        assert shown_tooltip(page, definition) == " ".join(definition.split())
        box = page.locator(".md-tooltip2, .md-tooltip").filter(has_text=definition[:40]).first.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, box
    finally:
        context.close()


def test_glossary_page_lists_every_tooltip_term(built_site, docs_dir):
    import re

    terms = re.findall(r"^\*\[([^\]]+)\]:", (docs_dir / "includes" / "glossary.md").read_text(encoding="utf-8"),
                       re.MULTILINE)
    page = (built_site / "glossary" / "index.html").read_text(encoding="utf-8")
    listed = " ".join(re.findall(r"<dt[^>]*>(.*?)</dt>", page))
    assert [term for term in terms if term not in listed] == []


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_pages_a_reader_meets_first(page_reports, phone_visits, viewport, scheme):
    """Taken by the visits that check the pages (desktop: site_visit.visit; phone: phone_visits)."""
    shots = ARTIFACTS / "reader"
    for path in SCREENSHOT_PAGES:
        shot = shots / f"{viewport}-{scheme}-{screenshot_name(path)}"
        assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot


# A call that draws with matplotlib, as code shows it: pyplot, or an axes' or figure's drawing method.
DRAWING = re.compile(r"\bplt\.\w|\bmatplotlib\.\w|\.(add_patch|imshow|subplots|tight_layout|suptitle|colorbar"
                     r"|set_(title|xlabel|ylabel|xticks|yticks|xlim|ylim|aspect)|axvspan|legend)\(")


def test_figure_drawing_code_is_folded(built_site, pages):
    """Finding 16: the matplotlib code that draws a figure is never shown open on a page; it sits
    in a fold (a `details`, "How the figure is drawn"), and what sits outside is the code that
    explains, with its output and the figure. The notebook page shows the notebook's cells as
    the download has them, folds included nowhere: it is left out."""
    from bs4 import BeautifulSoup

    shown = {}
    for path in pages:
        if path.startswith("walkthrough/"):
            continue
        html = built_site / (path if path.endswith(".html") else path + "index.html")
        soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
        for code in soup.select(".md-content .highlight pre"):
            lines = [line.strip() for line in code.get_text().splitlines() if DRAWING.search(line)]
            if lines and code.find_parent("details") is None:
                shown.setdefault(path or "/", []).append(lines[0])
    assert shown == {}
