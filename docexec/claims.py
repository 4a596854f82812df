"""The claims index: every claim of every other page, in the navigation's order, each checked
(a false claim fails the build here) and linked to its anchor; one heading per page and a
list under it, each with a badge of what it was verified on (no table: it reads on a phone)."""

from __future__ import annotations

import html
import os
import re

from .backends import library_versions
from .cache import PageCache
from .config import load_mkdocs_config, nav_entries, reading_order
from .errors import DocexecError
from .page import claim_id, page_lines, parse_page
from .render import Stash, plain, sentence_html, verified_on, versions_text

FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")


def claims_index(cache: PageCache, this_page: str | None, stash: Stash) -> list[str]:
    titles = nav_titles(load_mkdocs_config(cache.root))
    sections, count = [], 0
    for name in reading_order(cache.root, cache.docs_dir):
        if name == this_page:
            continue
        lines = page_lines(cache.docs_dir / name)
        try:
            page = parse_page(lines, cache.root, cache.backends)
        except DocexecError as error:
            raise error.at(page=f"{cache.docs_dir.name}/{name}") from None
        claims = [block for block in page.blocks if block.options.claim is not None]
        if not claims:
            continue
        record = cache.record(name, page)  # a false claim fails here, before it is listed
        link = os.path.relpath(name, os.path.dirname(this_page or "index.md"))
        sections += ["", f"## {heading_text(titles.get(name) or page_title(lines) or name)}", ""]
        for block in claims:
            sentence = block.options.claim
            result = record.results[page.items.index(block)]
            scope = verified_on(result, cache.backends)
            badge = f'<span class="docexec-scope">{plain(scope)}</span>'
            # A Markdown link, so that MkDocs checks the anchor and makes the URL relative.
            sections.append(f"- [{stash(sentence_html(sentence))}]({link}#{claim_id(sentence)}) {stash(badge)}")
            count += 1
    if not count:
        raise DocexecError("the claims index found no claims in any page", "no_claims")
    return [
        "",
        f"{count} claims, each checked by running its code with "
        f"{versions_text(library_versions())} when this site was built.",
        *sections,
        "",
    ]


def nav_titles(config: dict) -> dict[str, str]:
    """Each page of the navigation -> its title there ("Home: index.md"); pages listed
    without a title are left out (their H1 is used)."""
    found: dict[str, str] = {}
    for title, path in nav_entries(config):
        if title is not None:
            found.setdefault(path, title)
    return found


def page_title(lines: list[str]) -> str | None:
    """A page's first `# ` heading outside fenced code (a `# comment` in a fence before the
    H1 is not the title: reliability probe 3, item 12); None when it has none."""
    fence = None
    for line in lines:
        opened = FENCE.match(line)
        if fence:
            if opened and opened[1][0] == fence[0] and len(opened[1]) >= len(fence) and not line.strip(" \t`~"):
                fence = None
            continue
        if opened:
            fence = opened[1]
        elif line.startswith("# "):
            return line[2:].strip().rstrip("#").strip() or None
    return None


def heading_text(title: str) -> str:
    """`title` as the text of a Markdown heading: HTML-escaped and with Markdown's own
    characters backslash-escaped, so it shows as written."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|])", r"\\\1", html.escape(" ".join(title.split()), quote=False))
