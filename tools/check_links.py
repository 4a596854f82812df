"""Check every internal link and #anchor in a built site.

    python tools/check_links.py SITE_DIR [--base-path PATH] [--site-url URL]

An internal reference is an href or src with no scheme and no host, or an
absolute one under the site's own address (`--site-url`, mkdocs.yml's site_url:
the notebook's links are written so, to work from Colab). It must
name a file in the site (a folder means its index.html), and its #fragment
must be an id (or <a name>) on the target page. A root-absolute path ("/x/",
as on the 404 page) must start with the path the site is served under
(`--base-path`, the path of mkdocs.yml's site_url; "/keras-padding-backprop/"
on GitHub Pages) and is resolved from the site root after it. Links to other
hosts are not fetched (the site is checked offline); the browser tests make
sure no page loads anything from one. The Markdown links of every notebook
(`.ipynb`) in the site are checked as well: the file a reader downloads.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

LINK_ATTRIBUTES = {("a", "href"), ("link", "href"), ("img", "src"), ("script", "src"), ("source", "src")}


@dataclass(frozen=True)
class BrokenLink:
    page: str
    target: str
    reason: str

    def __str__(self) -> str:
        return f"{self.page}: {self.target!r}: {self.reason}"


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.references: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value)
            if (tag, name) in LINK_ATTRIBUTES:
                self.references.append(value)


def parse(page: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def resolve(site: Path, page: Path, path: str) -> Path:
    """The file a relative URL path names, seen from `page` (which lives in site)."""
    base = PurePosixPath(page.relative_to(site).as_posix()).parent
    parts: list[str] = []
    for part in (base / unquote(path)).parts:
        if part == "..":
            if not parts:
                raise ValueError("goes above the site root")
            parts.pop()
        elif part != ".":
            parts.append(part)
    target = site.joinpath(*parts)
    if path.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target


def is_internal(reference: str, site_url: str = "") -> bool:
    split = urlsplit(reference)
    return (not split.scheme and not split.netloc) or bool(site_url and reference.startswith(site_url))


def local_form(reference: str, site_url: str) -> str:
    """A link under site_url as the root-absolute path it names (its path and fragment)."""
    if site_url and reference.startswith(site_url):
        split = urlsplit(reference)
        return split.path + ("#" + split.fragment if split.fragment else "")
    return reference


MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


def notebook_links(notebook: Path) -> list[str]:
    """The targets of the Markdown links in a notebook's Markdown cells."""
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    text = "\n".join("".join(cell.get("source", [])) for cell in cells if cell.get("cell_type") == "markdown")
    return MARKDOWN_LINK.findall(text)


def check_reference(site: Path, page: Path, reference: str, ids_of, base_path: str) -> str | None:
    """Why `reference` on `page` is broken, or None when it is fine."""
    split = urlsplit(reference)
    path, seen_from = split.path, page
    if path.startswith("/"):
        if not (path + "/").startswith(base_path):
            return f"root-absolute path outside the site's base path {base_path!r}"
        path, seen_from = path[len(base_path):] or ".", site / "index.html"
        if path.startswith("/"):
            return "a double slash after the site's base path"
    try:
        target = resolve(site, seen_from, path) if path else page
    except ValueError as error:
        return str(error)
    if not target.is_file():
        return f"no file {target.relative_to(site).as_posix()} in the site"
    fragment = unquote(split.fragment)
    if fragment and target.suffix == ".html" and fragment not in ids_of(target):
        return f"no id {fragment!r} on {target.relative_to(site).as_posix()}"
    return None


def normalise_base_path(base_path: str) -> str:
    return "/" + base_path.strip("/") + "/" if base_path.strip("/") else "/"


def check_site(site: Path, base_path: str = "/", site_url: str = "") -> tuple[list[BrokenLink], int]:
    """All broken internal references in `site`, and how many were checked. With `site_url`,
    absolute links under it are internal too (and then `base_path` defaults to its path)."""
    if site_url:
        site_url = site_url.rstrip("/") + "/"
        if base_path == "/":
            base_path = urlsplit(site_url).path
    site, base_path = Path(site).resolve(), normalise_base_path(base_path)
    parsed: dict[Path, _PageParser] = {}

    def page_info(page: Path) -> _PageParser:
        if page not in parsed:
            parsed[page] = parse(page)
        return parsed[page]

    broken, checked = [], 0
    pages = sorted(site.rglob("*.html")) + sorted(site.rglob("*.ipynb"))
    for page in pages:
        references = notebook_links(page) if page.suffix == ".ipynb" else page_info(page).references
        for reference in references:
            if not is_internal(reference, site_url):
                continue
            checked += 1
            reason = check_reference(site, page, local_form(reference, site_url),
                                     lambda t: page_info(t).ids, base_path)
            if reason:
                broken.append(BrokenLink(page.relative_to(site).as_posix(), reference, reason))
    return broken, checked


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Check internal links and anchors of a built site.")
    parser.add_argument("site", type=Path, help="the built site folder")
    parser.add_argument("--base-path", default="/", help="URL path the site is served under")
    parser.add_argument("--site-url", default="", help="the site's own address: absolute links under it are checked")
    args = parser.parse_args(argv[1:])
    if not args.site.is_dir():
        parser.error(f"SITE must be a built site folder; given: {args.site}")
    broken, checked = check_site(args.site, args.base_path, args.site_url)
    for link in broken:
        print(link)
    print(f"{checked} internal references checked, {len(broken)} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
