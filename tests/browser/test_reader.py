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
  test-artifacts/reader/: taken by the phone visits here and by the desktop visits (site_visit.visit).

Numbers measured are written to test-artifacts/reader-report.json.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from site_visit import AXE_JS, COLOUR_RULES, SCREENSHOT_PAGES, screenshot_name, switch_palette

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}  # the desktop
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

# Runs in the page at phone width: what overflows, the figures' lightbox links, explorer cells.
PHONE_CHECK_JS = """
() => {
  const root = document.documentElement;
  const wide = Array.from(document.querySelectorAll('.md-content *')).filter((element) => {
    const box = element.getBoundingClientRect();
    return box.width > 0 && box.right > innerWidth + 1 && !element.closest(
      'pre, .md-typeset__scrollwrap, .tabbed-labels, .pe-figure, math[display=block], .highlight');
  }).slice(0, 5).map((element) => element.tagName.toLowerCase() + '.' + element.className + ': ' +
                             Math.round(element.getBoundingClientRect().right));
  const figures = Array.from(document.querySelectorAll('.md-content img')).filter((image) =>
    !image.closest('noscript') && image.getBoundingClientRect().width > 0);
  const unlinked = figures.filter((image) => {
    const link = image.closest('a.glightbox');
    return !link || link.getAttribute('href') !== image.getAttribute('src');
  }).map((image) => (image.getAttribute('alt') || image.src).slice(0, 50));
  const cells = Array.from(document.querySelectorAll('.pe-input rect, .pe-output rect, .pe-pad rect'))
    .map((rect) => Math.min(rect.getBoundingClientRect().width, rect.getBoundingClientRect().height));
  return {scroll_width: root.scrollWidth, width: innerWidth, wide: wide, figures: figures.length,
          unlinked: unlinked, smallest_cell: cells.length ? Math.min(...cells) : null};
}
"""


@pytest.fixture(scope="module", autouse=True)
def save_report():
    yield
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "reader-report.json").write_text(json.dumps(report, indent=2) + "\n")


def new_context(browser, viewport, scheme):
    phone = viewport == PHONE
    return browser.new_context(viewport=viewport, color_scheme=scheme, is_mobile=phone, has_touch=phone,
                               device_scale_factor=1)


@pytest.fixture(scope="module")
def phone_visits(browser, site_server, pages):
    """Every page at phone size, loaded once: in the light palette PHONE_CHECK_JS's answer, a tap on each
    figure and axe-core's serious and critical findings (every rule); then, switched to the dark palette
    with Material's toggle as a reader does, PHONE_CHECK_JS again and axe-core's colour rules."""
    visits = {}
    shots = ARTIFACTS / "reader"
    shots.mkdir(parents=True, exist_ok=True)
    for stale in shots.glob("phone-*.png"):  # the screenshot test asserts that these visits took them
        stale.unlink()
    context = new_context(browser, PHONE, "light")
    try:
        for path in pages:
            page = context.new_page()
            try:
                page.goto(site_server.root + path, wait_until="networkidle")
                page.add_script_tag(path=axe_path())
                for scheme in ("light", "dark"):
                    if scheme == "dark":
                        # Back to the top first (the taps scrolled): the header's title fades as it
                        # scrolls, and switch_palette waits for fades to end before axe-core rates them.
                        page.evaluate("window.scrollTo(0, 0)")
                        assert switch_palette(page) == "slate", path
                    found = page.evaluate(PHONE_CHECK_JS)
                    if path in SCREENSHOT_PAGES:  # the page's top, as a reader first sees it: before the taps scroll
                        page.screenshot(path=str(shots / f"phone-{scheme}-{screenshot_name(path)}"))
                    if scheme == "light":
                        found["taps"] = tap_every_figure(page)
                    found["axe"] = [f"{v['id']} ({v['impact']}): {v['targets']}"
                                    for v in page.evaluate(AXE_JS, {} if scheme == "light" else COLOUR_RULES)
                                    if v["impact"] in ("serious", "critical")]
                    visits[(scheme, path)] = found
                assert switch_palette(page) == "default", path  # the next page loads light again
            finally:
                page.close()
    finally:
        context.close()
    report["phone"] = {f"{scheme} {path or '/'}": visit for (scheme, path), visit in visits.items()}
    return visits


def axe_path() -> str:
    from axe_playwright_python.base import AXE_FILE_PATH

    return str(AXE_FILE_PATH)


def tap_every_figure(page) -> list[str]:
    """Tap each visible figure: the lightbox must show that image, wider than it was drawn or as
    wide as the screen allows. Returns what went wrong."""
    problems = []
    links = page.locator(".md-content a.glightbox:visible")
    for index in range(links.count()):
        link = links.nth(index)
        source = link.locator("img").get_attribute("src")
        link.scroll_into_view_if_needed()
        drawn = link.locator("img").bounding_box()["width"]
        link.tap()
        try:
            shown = page.locator(".glightbox-container .gslide.current img")
            shown.wait_for(state="visible", timeout=5_000)
            if shown.get_attribute("src") != source:
                problems.append(f"figure {index}: the lightbox shows another image")
            natural = shown.evaluate("image => image.naturalWidth")
            if natural < drawn:
                problems.append(f"figure {index}: opened at {natural} px, drawn at {drawn} px")
        except Exception as error:  # reported, with the figure's number
            problems.append(f"figure {index}: no lightbox after a tap ({type(error).__name__})")
        page.keyboard.press("Escape")
        page.locator(".glightbox-container").wait_for(state="detached", timeout=5_000)
    return problems


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
                # Each key's results replace the last ones: read until two readings agree.
                hrefs, previous = None, []
                for _ in range(20):
                    page.wait_for_timeout(250)
                    hrefs = results.evaluate_all("links => links.map(a => a.getAttribute('href'))")
                    if hrefs == previous:
                        break
                    previous = hrefs
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


def test_every_page_is_light_on_a_cold_cache_and_explorer_js_loads_only_where_used(browser, site_server, pages):
    """Each page as a first visit: a fresh browser context (an empty cache), the page loaded
    until the network is idle, and every byte the local server sent for it counted (status
    line, headers and gzipped body, as GitHub Pages gzips): HTML, CSS, JavaScript, the search
    worker and the index it loads, images, fonts. Each page within PAGE_BUDGET."""
    cold, explorer_pages = {}, set()
    for path in pages:
        context = new_context(browser, DESKTOP, "light")  # a fresh context: a cold cache
        page = context.new_page()
        first = len(site_server.transfers)
        try:
            page.goto(site_server.root + path, wait_until="networkidle")
            # Material's search worker fetches the index after the page's own load; on a busy
            # machine that can come after the first idle moment: wait for it, then for idle.
            for _ in range(150):
                if any(url.endswith("search_index.json") for url, _ in site_server.transfers[first:]):
                    break
                page.wait_for_timeout(100)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(300)  # idle: nothing else arrives
            sent = site_server.transfers[first:]
            cold[path] = {url: sum(size for other, size in sent if other == url) for url, _ in sent}
            if any(url.endswith("/assets/explorer.js") for url in cold[path]):
                explorer_pages.add(path)
            has_explorer = page.locator(".padding-explorer").count() > 0
            assert has_explorer == (path in explorer_pages), path
        finally:
            context.close()
    totals = {path: sum(urls.values()) for path, urls in cold.items()}
    heaviest = max(totals, key=totals.get)
    report["cold_transfer_bytes"] = totals
    report["heaviest_page"] = {"page": heaviest or "/", "bytes": totals[heaviest],
                               "requests": dict(sorted(cold[heaviest].items(), key=lambda item: -item[1]))}
    assert {path or "/": total for path, total in totals.items() if total > PAGE_BUDGET} == {}
    assert [path or "/" for path, urls in cold.items() if not any(url.endswith("search_index.json") for url in urls)] \
        == [], "the search index is part of a first visit: the count missed it"
    assert explorer_pages == {"explore/", "input-gradient/"}


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


def shown_tooltip(page, definition: str) -> str:
    """The text of the tooltip that shows `definition` (whitespace folded), once visible."""
    words = " ".join(definition.split())
    tooltip = page.locator(".md-tooltip2, .md-tooltip").filter(has_text=words[:40]).first
    tooltip.wait_for(state="visible", timeout=5_000)
    return " ".join(tooltip.inner_text().split())


def test_glossary_tooltips_show_their_whole_definition_on_keyboard_focus(browser, site_server, pages):
    """Each glossary term, reached from the keyboard (focus) on the first page that uses it: its
    tooltip shows its definition as written. (Material renders a title as HTML: the adjoint's
    "<Ax, g>" was read as a tag and vanished.)"""
    context = new_context(browser, DESKTOP, "light")
    page = context.new_page()
    wrong, seen = {}, set()
    try:
        for path in pages:
            page.goto(site_server.root + path, wait_until="networkidle")
            # Numbered first: Material takes a term's title away once its tooltip has shown.
            titles = page.evaluate("""() => Array.from(document.querySelectorAll('.md-content abbr[title]'))
                                            .map((term, index) => { term.dataset.term = index; return term.title; })""")
            for index, definition in enumerate(titles):
                if definition in seen:
                    continue
                seen.add(definition)
                term = page.locator(f'abbr[data-term="{index}"]')
                term.focus()
                try:
                    shown = shown_tooltip(page, definition)
                except PlaywrightTimeoutError:
                    shown = None
                if shown != " ".join(definition.split()):
                    wrong[term.inner_text()] = shown
                term.blur()
    finally:
        context.close()
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
