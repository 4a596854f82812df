"""Serve a built site locally, visit each page in Chromium, record what happened."""
from __future__ import annotations

import contextlib
import functools
import gzip
import io
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

# Runs in the page: reveals each element a reader can open (closed <details>,
# an unselected tab) and says what is missing. Outputs, claims and maths must
# have a box; figures need an <img> that decoded and has alt text.
CHECK_CONTENT_JS = """
async () => {
  const reveal = (element) => {
    for (let node = element.parentElement; node; node = node.parentElement) {
      if (node.tagName === 'DETAILS') node.open = true;
      if (node.classList.contains('tabbed-block')) {
        const index = Array.from(node.parentElement.children).indexOf(node);
        const input = node.closest('.tabbed-set').querySelectorAll(':scope > input')[index];
        if (input && !input.checked) input.click();
      }
    }
  };
  const describe = (element) =>
    (element.textContent || element.outerHTML).trim().replace(/\\s+/g, ' ').slice(0, 60);
  const hasBox = (element) => {
    reveal(element);
    const box = element.getBoundingClientRect();
    const style = getComputedStyle(element);
    return box.width > 0 && box.height > 0 && style.visibility !== 'hidden';
  };
  const boxed = (selector) => {
    const all = Array.from(document.querySelectorAll(selector));
    return {count: all.length, problems: all.filter((e) => !hasBox(e)).map(describe)};
  };
  const images = Array.from(document.querySelectorAll('img'));
  for (const image of images) {
    image.loading = 'eager';
    reveal(image);
    await image.decode().catch(() => {});
  }
  const imageProblems = images
    .filter((image) => !(image.complete && image.naturalWidth > 0))
    .map((image) => 'not loaded: ' + image.getAttribute('src'));
  const figures = Array.from(document.querySelectorAll('figure.docexec-figure'));
  const figureProblems = figures.flatMap((figure) => {
    const image = figure.querySelector('img');
    if (!image) return ['figure without <img>: ' + describe(figure)];
    if (!(image.getAttribute('alt') || '').trim()) return ['no alt text: ' + image.getAttribute('src')];
    return hasBox(image) ? [] : ['figure not visible: ' + image.getAttribute('src')];
  });
  // Prose outside code that still shows LaTeX delimiters was not rendered to MathML.
  const walker = document.createTreeWalker(document.querySelector('.md-content') || document.body,
                                           NodeFilter.SHOW_TEXT);
  const rawTex = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest('pre, code, script, style, math, kbd')) continue;
    const found = node.textContent.match(/\\$\\$|\\\\\\(|\\\\\\[|\\\\begin\\{|\\$[^\\s$][^$]*[^\\s$]\\$/);
    if (found) rawTex.push(found[0].slice(0, 40));
  }
  return {
    outputs: boxed('.docexec-output'),
    code: boxed('.highlight > .filename'),  // a block's code, titled with its snippets file
    claims: boxed('.docexec-claim'),
    maths: boxed('math'),
    figures: {count: figures.length, problems: figureProblems},
    images: {count: images.length, problems: imageProblems},
    raw_tex: rawTex,
  };
}
"""

# `options` narrows the rules: the dark palette changes only colours, so only
# the colour rules are run again there.
AXE_JS = """
async (options) => {
  const result = await axe.run(document, {resultTypes: ['violations'], ...options});
  return result.violations.map((violation) => ({
    id: violation.id, impact: violation.impact, help: violation.help,
    nodes: violation.nodes.length,
    targets: violation.nodes.slice(0, 3).map((node) => node.target.join(' ')),
  }));
}
"""


COLOUR_RULES = {"runOnly": {"type": "rule", "values": ["color-contrast", "link-in-text-block"]}}

# The pages a reader meets first: `visit` screenshots them at desktop size in both palettes, and
# test_reader's phone visits at phone size, into test-artifacts/reader/.
SCREENSHOT_PAGES = ["", "strides-dilation-causal/", "backends/", "explore/", "claims/"]

# The claim boxes' share of the page (test_claim_boxes), measured at this size as a reader first sees
# them, closed: the page's height and the height of every claim box in it (its border box: its margins
# collapse with its neighbours'); a box inside a closed admonition has no height.
CLAIM_VIEWPORT = {"width": 1280, "height": 800}
CLAIM_SHARE_JS = """
() => {
  const boxes = Array.from(document.querySelectorAll('.docexec-claim'));
  const heights = boxes.map((box) => box.getBoundingClientRect().height);
  return {boxes: boxes.length, claims: heights.reduce((a, b) => a + b, 0),
          page: document.documentElement.scrollHeight,
          open: boxes.filter((box) => box.querySelector('details[open]')).length};
}
"""


def discover_pages(site: Path) -> list[str]:
    """Each HTML page of the built site as a URL path relative to the site root."""
    pages = []
    for html in sorted(site.rglob("*.html")):
        relative = html.relative_to(site).as_posix()
        if relative == "404.html":
            continue
        pages.append(relative[: -len("index.html")] if html.name == "index.html" else relative)
    return pages


COMPRESSED_SUFFIXES = {".html", ".css", ".js", ".json", ".svg", ".xml", ".txt", ".ipynb"}


class _CountingWriter:
    """The response stream, counting the bytes written to it (status line, headers, body)."""

    def __init__(self, stream):
        self.stream, self.count = stream, 0

    def write(self, data) -> int:
        self.count += len(data)
        return self.stream.write(data)

    def __getattr__(self, name):
        return getattr(self.stream, name)


@functools.cache
def gzipped(path: Path, mtime_ns: int) -> bytes:
    """The file as gzip sends it, compressed once per version (mtime_ns) and not once per request:
    the pages are visited by several browsers at once, and the server runs in the tests' process."""
    return gzip.compress(path.read_bytes(), mtime=0)


class _Handler(SimpleHTTPRequestHandler):
    """Serves the site as GitHub Pages does: under its base path, text gzipped, misses answered by 404.html.
    Each answer's size on the wire (status line, headers and body as sent) goes to `transfers`."""

    def __init__(self, *args, site: Path, base_path: str, transfers: list, **kwargs):
        self.site, self.base_path, self.transfers = site, base_path, transfers
        super().__init__(*args, directory=str(site), **kwargs)

    def setup(self):
        super().setup()
        self.wfile = _CountingWriter(self.wfile)

    def handle_one_request(self):
        self.wfile.count = 0
        super().handle_one_request()
        if self.wfile.count:
            self.transfers.append((urlsplit(self.path).path, self.wfile.count))

    def translate_path(self, path: str) -> str:
        url_path = urlsplit(path).path
        if not url_path.startswith(self.base_path):
            return str(self.site / "missing-outside-base-path")
        return super().translate_path("/" + url_path[len(self.base_path):])

    def send_head(self):
        """Compress text with gzip when the browser accepts it, as GitHub Pages does."""
        path = Path(self.translate_path(self.path))
        if path.is_dir() and self.path.split("?")[0].endswith("/"):
            path = path / "index.html"
        accepts_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (accepts_gzip and path.is_file() and path.suffix in COMPRESSED_SUFFIXES):
            return super().send_head()
        body = gzipped(path, path.stat().st_mtime_ns)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def send_error(self, code, message=None, explain=None):
        page = self.site / "404.html"
        if code != 404 or not page.is_file():
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format, *args):  # `format`: the base class's parameter name
        pass


class SiteServer:
    """The built site on 127.0.0.1 at a free port, in a background thread."""

    def __init__(self, site: Path, base_path: str):
        # (URL path, bytes sent) of every answer, in order: what a visit cost, as served.
        self.transfers: list[tuple[str, int]] = []
        handler = functools.partial(_Handler, site=site, base_path=base_path, transfers=self.transfers)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.root = self.origin + base_path
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> SiteServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()

    def is_local(self, url: str) -> bool:
        return url.startswith(self.origin + "/") or url.startswith(("data:", "blob:"))


@dataclass
class PageReport:
    page: str
    status: int | None = None
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    requests: int = 0
    transferred_bytes: int = 0
    content: dict = field(default_factory=dict)
    axe_violations: list[dict] = field(default_factory=list)
    dark_axe_violations: list[dict] = field(default_factory=list)
    palette: dict = field(default_factory=dict)
    claim_share: dict = field(default_factory=dict)
    screenshot: str = ""
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)

    def axe_counts(self) -> dict[str, int]:
        counts = {"critical": 0, "serious": 0, "moderate": 0, "minor": 0}
        for violation in self.axe_violations:
            counts[violation["impact"] or "minor"] += violation["nodes"]
        return counts

    def summary(self) -> dict:
        return {**asdict(self), "axe_counts": self.axe_counts()}


def screenshot_name(page: str) -> str:
    return (page.strip("/").replace("/", "-").removesuffix(".html") or "index") + ".png"


def watch(page, server: SiteServer, report: PageReport, finished: list) -> None:
    """Record what the page does; stop anything that leaves this machine."""

    def route(route_handle):
        url = route_handle.request.url
        if server.is_local(url):
            route_handle.continue_()
        else:
            report.foreign_requests.append(url)
            route_handle.abort("blockedbyclient")

    page.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and report.console_errors.append(m.text))
    page.on("pageerror", lambda error: report.console_errors.append(f"uncaught: {error}"))
    page.on("requestfinished", lambda request: finished.append(request))
    page.on(
        "requestfailed",
        lambda r: server.is_local(r.url) and report.failed_requests.append(f"{r.url}: {r.failure}"),
    )
    page.on(
        "response",
        lambda r: r.status >= 400 and report.failed_requests.append(f"{r.url}: HTTP {r.status}"),
    )


def visit(context, server: SiteServer, path: str, axe_source: str, screenshots: Path,
          reader_shots: Path | None = None) -> PageReport:
    """One load of the page: the claim boxes' share at CLAIM_VIEWPORT, a full-page screenshot, axe-core
    (every rule), the palette toggled and axe-core's colour rules while dark, and the content check.
    For SCREENSHOT_PAGES, `reader_shots` gets desktop-light- and desktop-dark- screenshots of the viewport."""
    report, finished = PageReport(page=path), []
    page = context.new_page()
    clock = Stopwatch(report.stages)
    shoot = reader_shots is not None and path in SCREENSHOT_PAGES
    try:
        watch(page, server, report, finished)
        with clock("load"):
            response = page.goto(server.root + path, wait_until="networkidle")
        report.status = response.status if response else None
        with clock("claims"):
            viewport = page.viewport_size
            page.set_viewport_size(CLAIM_VIEWPORT)
            report.claim_share = page.evaluate(CLAIM_SHARE_JS)
            page.set_viewport_size(viewport)
        shot = screenshots / screenshot_name(path)
        with clock("screenshot"):
            if shoot:
                page.screenshot(path=str(reader_shots / f"desktop-light-{screenshot_name(path)}"))
            page.screenshot(path=str(shot), full_page=True)
        report.screenshot = str(shot)
        with clock("axe"):
            page.add_script_tag(content=axe_source)
            report.axe_violations = page.evaluate(AXE_JS, {})
        with clock("palette"):
            dark_shot = reader_shots / f"desktop-dark-{screenshot_name(path)}" if shoot else None
            report.palette, report.dark_axe_violations = toggle_palette(page, dark_shot)
        with clock("content"):
            report.content = page.evaluate(CHECK_CONTENT_JS)
        report.requests = len(finished)
        report.transferred_bytes = sum(transferred(request) for request in finished)
    finally:
        page.close()
    report.seconds = sum(report.stages.values())
    return report


class Stopwatch:
    """`with clock("name"):` adds the block's wall time to stages["name"]."""

    def __init__(self, stages: dict[str, float]):
        self.stages = stages

    @contextlib.contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = round(time.perf_counter() - start, 2)


SCHEME_JS = "() => document.body.getAttribute('data-md-color-scheme')"


def switch_palette(page) -> str:
    """Click Material's light/dark toggle as a reader does; returns the scheme it switched to, once the
    pointer has left the toggle and its tooltip (content.tooltips) has faded: axe-core would rate the
    half-transparent text."""
    start = page.evaluate(SCHEME_JS)
    page.locator("[data-md-component=palette] label:visible").first.click()
    page.wait_for_function(f"s => ({SCHEME_JS})() !== s", arg=start, timeout=5_000)
    page.mouse.move(0, 600)
    page.wait_for_timeout(400)
    return page.evaluate(SCHEME_JS)


def toggle_palette(page, dark_shot: Path | None = None) -> tuple[dict, list[dict]]:
    """Click the light/dark toggle there and back; run axe while dark (and screenshot the viewport
    to `dark_shot`, from the top of the page)."""
    background_js = "() => getComputedStyle(document.body).backgroundColor"
    start, light_background = page.evaluate(SCHEME_JS), page.evaluate(background_js)
    toggled = switch_palette(page)
    dark_background = page.evaluate(background_js)
    dark_violations = page.evaluate(AXE_JS, COLOUR_RULES)
    if dark_shot is not None:
        page.screenshot(path=str(dark_shot))
    back = switch_palette(page)
    palette = {"start": start, "toggled": toggled, "back": back,
               "background_changed": light_background != dark_background}
    return palette, dark_violations


def transferred(request) -> int:
    sizes = request.sizes()
    return sizes["responseHeadersSize"] + sizes["responseBodySize"]


class BrowserThreads:
    """`threads` threads, each with a Playwright and a Chromium of its own (Playwright's sync API works
    only in the thread that started it), taking jobs from one queue: `submit(job)` runs job(worker) on
    the first free thread and returns a Future. The page visits wait mostly on Chromium (rendering,
    axe-core, network idle), so two browsers visit about twice as many pages in a given time on two cores.

    A job returns plain data (it must not hand a page or a context to another thread). Its worker keeps
    the contexts the thread's jobs share, by name: `worker.context("desktop", viewport=...)`."""

    def __init__(self, chromium_path: str, launch_args: list[str], threads: int = 2):
        self.jobs: queue.Queue = queue.Queue()
        self.threads = [threading.Thread(target=self._serve, args=(chromium_path, launch_args),
                                         name=f"browser-{n}", daemon=True) for n in range(threads)]
        for thread in self.threads:
            thread.start()

    def submit(self, job) -> Future:
        future: Future = Future()
        self.jobs.put((job, future))
        return future

    def close(self) -> None:
        """Cancel the jobs no thread has started (a session that ended early), then stop the threads."""
        while True:
            try:
                item = self.jobs.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[1].cancel()
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join(timeout=60)

    def _serve(self, chromium_path: str, launch_args: list[str]) -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium_path, args=launch_args,
                                                     headless=True)
                worker = BrowserWorker(browser)
                try:
                    self._run_jobs(worker)
                finally:
                    worker.close()
                    browser.close()
        except BaseException as error:  # no browser in this thread: its jobs fail with the reason
            self._run_jobs(None, error)

    def _run_jobs(self, worker, failure: BaseException | None = None) -> None:
        while (item := self.jobs.get()) is not None:
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            if failure is not None:
                future.set_exception(failure)
                continue
            try:
                future.set_result(job(worker))
            except BaseException as error:  # the test that waits for the job re-raises it
                future.set_exception(error)


class BrowserWorker:
    """One thread's Chromium, and the contexts its jobs share (opened on first use)."""

    def __init__(self, browser):
        self.browser = browser
        self.contexts: dict[str, object] = {}

    def context(self, name: str, **options):
        if name not in self.contexts:
            self.contexts[name] = self.browser.new_context(**options)
        return self.contexts[name]

    def close(self) -> None:
        for context in self.contexts.values():
            context.close()


def print_reports(reports, write_line) -> None:
    write_line("")
    write_line("Site pages in Chromium: bytes transferred, requests, axe-core violations (nodes)")
    write_line("by impact with the light palette, all impacts with the dark one, seconds per page:")
    write_line(f"{'page':40} {'bytes':>9} {'req':>4} {'crit':>4} {'ser':>4} {'mod':>4} {'min':>4} {'dark':>4} {'s':>5}")
    for report in reports:
        counts = report.axe_counts()
        dark = sum(v["nodes"] for v in report.dark_axe_violations)
        write_line(
            f"{report.page or '/':40} {report.transferred_bytes:>9} {report.requests:>4} "
            f"{counts['critical']:>4} {counts['serious']:>4} {counts['moderate']:>4} "
            f"{counts['minor']:>4} {dark:>4} {report.seconds:>5.1f}"
        )
    kinds = ("outputs", "claims", "figures", "maths")
    totals = {kind: sum(r.content.get(kind, {}).get("count", 0) for r in reports) for kind in kinds}
    write_line(f"{len(reports)} pages, " + ", ".join(f"{n} {kind}" for kind, n in totals.items())
               + f", {sum(r.seconds for r in reports):.1f} s in all")
    write_line(f"screenshots: {Path(reports[0].screenshot).parent}")


# --- the page loops of the browser tests, as jobs for BrowserThreads ------------------------------------
# Each takes the thread's BrowserWorker and returns plain data; the tests assert on it.

PHONE = {"width": 390, "height": 844}
DESKTOP = CLAIM_VIEWPORT  # the issue's desktop, where the claim boxes' share is measured


def context_options(viewport: dict, scheme: str = "light") -> dict:
    """A context at `viewport` (a phone has touch and is mobile), loading pages in `scheme`."""
    phone = viewport == PHONE
    return dict(viewport=viewport, color_scheme=scheme, is_mobile=phone, has_touch=phone, device_scale_factor=1)


def desktop_visit(worker, server, path, axe_source, screenshots, reader_shots) -> PageReport:
    """`visit` at desktop size, in the thread's desktop context (light, CLAIM_VIEWPORT; one cache for
    its pages, as one reader's)."""
    context = worker.context("desktop", color_scheme="light", viewport=CLAIM_VIEWPORT)
    return visit(context, server, path, axe_source, screenshots, reader_shots)


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


def phone_visit(worker, server, path, axe_source, shots: Path) -> dict:
    """The page at phone size, loaded once, in the thread's phone context: in the light palette
    PHONE_CHECK_JS's answer, a tap on each figure and axe-core's serious and critical findings (every
    rule); then, switched to the dark palette with Material's toggle as a reader does, PHONE_CHECK_JS
    again and axe-core's colour rules. {(scheme, path): what was found}. For SCREENSHOT_PAGES, the top of
    the page in each palette goes to `shots` (phone-light-, phone-dark-)."""
    context = worker.context("phone", **context_options(PHONE))
    visits = {}
    page = context.new_page()
    try:
        page.goto(server.root + path, wait_until="networkidle")
        page.add_script_tag(content=axe_source)
        for scheme in ("light", "dark"):
            if scheme == "dark":
                # Back to the top first (the taps scrolled): the header's title fades as it
                # scrolls, and switch_palette waits for fades to end before axe-core rates them.
                page.evaluate("window.scrollTo(0, 0)")
                toggled = switch_palette(page)
                assert toggled == "slate", f"{path}: the toggle switched to {toggled!r}"
            found = page.evaluate(PHONE_CHECK_JS)
            if path in SCREENSHOT_PAGES:  # the page's top, as a reader first sees it: before the taps scroll
                page.screenshot(path=str(shots / f"phone-{scheme}-{screenshot_name(path)}"))
            if scheme == "light":
                found["taps"] = tap_every_figure(page)
            found["axe"] = [f"{v['id']} ({v['impact']}): {v['targets']}"
                            for v in page.evaluate(AXE_JS, {} if scheme == "light" else COLOUR_RULES)
                            if v["impact"] in ("serious", "critical")]
            visits[(scheme, path)] = found
        back = switch_palette(page)
        assert back == "default", f"{path}: the toggle switched back to {back!r}"  # the next page loads light
    finally:
        page.close()
    return visits


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


def cold_visit(worker, site: Path, base_path: str, path: str) -> dict:
    """The page as a first visit: a fresh context (an empty cache), loaded until the network is idle.
    Served by a SiteServer of its own, so that what it counts is this page's, while other threads
    visit other pages. {"sent": {URL path: bytes sent for it}, "has_explorer": whether it shows one}"""
    with SiteServer(site, base_path) as server:
        context = worker.browser.new_context(**context_options(DESKTOP))
        try:
            page = context.new_page()
            page.goto(server.root + path, wait_until="networkidle")
            # Material's search worker fetches the index after the page's own load; on a busy
            # machine that can come after the first idle moment: wait for it, then for idle.
            for _ in range(150):
                if any(url.endswith("search_index.json") for url, _ in server.transfers):
                    break
                page.wait_for_timeout(100)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(300)  # idle: nothing else arrives
            sent = list(server.transfers)
            has_explorer = page.locator(".padding-explorer").count() > 0
        finally:
            context.close()
    return {"sent": {url: sum(size for other, size in sent if other == url) for url, _ in sent},
            "has_explorer": has_explorer}


def settled_results(page, results, absolute: bool = False) -> list[str]:
    """The search results' links (as written, or `absolute` URLs) once they stop changing: each key's
    results replace the last ones (an earlier key's, for a shorter prefix, may still be showing), so
    read until two readings agree."""
    read = "links => links.map(a => a.href)" if absolute else "links => links.map(a => a.getAttribute('href'))"
    hrefs, previous = [], None
    for _ in range(20):
        page.wait_for_timeout(250)
        hrefs = results.evaluate_all(read)
        if hrefs == previous:
            break
        previous = hrefs
    return hrefs


def shown_tooltip(page, definition: str) -> str:
    """The text of the tooltip that shows `definition` (whitespace folded), once visible."""
    words = " ".join(definition.split())
    tooltip = page.locator(".md-tooltip2, .md-tooltip").filter(has_text=words[:40]).first
    tooltip.wait_for(state="visible", timeout=5_000)
    return " ".join(tooltip.inner_text().split())


def glossary_tooltips(worker, server, pages) -> tuple[set[str], dict[str, str | None]]:
    """Each glossary term, reached from the keyboard (focus) on the first page that uses it, in a
    desktop context of its own: (the definitions seen, {term: the tooltip shown, if not its definition})."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    context = worker.browser.new_context(**context_options(DESKTOP))
    page = context.new_page()
    wrong, seen = {}, set()
    try:
        for path in pages:
            page.goto(server.root + path, wait_until="networkidle")
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
    return seen, wrong


class SiteVisits:
    """The page loops of the browser tests, submitted to BrowserThreads at once: `kinds` names which
    (the fixtures of the tests that will run: page_reports, phone_visits, cold_visits,
    glossary_tooltips). `result(kind)` waits for that kind's jobs: {page path: result} for a visit
    of each page, the job's result for glossary_tooltips."""

    def __init__(self, threads: BrowserThreads, kinds: set[str], server: SiteServer, site: Path,
                 base_path: str, pages: list[str], axe_source: str, screenshots: Path, reader_shots: Path):
        self.futures: dict[str, object] = {}
        # The one long job first, so that it does not end alone after the others.
        if "glossary_tooltips" in kinds:
            self.futures["glossary_tooltips"] = threads.submit(lambda w: glossary_tooltips(w, server, pages))
        per_page = {
            "page_reports": lambda path: lambda w: desktop_visit(w, server, path, axe_source, screenshots,
                                                                 reader_shots),
            "phone_visits": lambda path: lambda w: phone_visit(w, server, path, axe_source, reader_shots),
            "cold_visits": lambda path: lambda w: cold_visit(w, site, base_path, path),
        }
        for kind, job in per_page.items():
            if kind in kinds:
                self.futures[kind] = {path: threads.submit(job(path)) for path in pages}

    def result(self, kind: str):
        futures = self.futures[kind]
        if isinstance(futures, dict):
            return {path: future.result() for path, future in futures.items()}
        return futures.result()
