"""The claims index: every claim of every other page, in the navigation's order, each checked
(a false claim fails the build here, before it could be listed) and linked to its anchor."""

from __future__ import annotations

import os

from .backends import library_versions
from .cache import PageCache
from .config import reading_order
from .errors import DocexecError
from .page import claim_id, page_lines, parse_page
from .render import Stash, sentence_html, verified_on, versions_text


def claims_index(cache: PageCache, this_page: str | None, stash: Stash) -> list[str]:
    rows = []
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
        title = next((line[2:].strip() for line in lines if line.startswith("# ")), name).replace("|", r"\|")
        link = os.path.relpath(name, os.path.dirname(this_page or "index.md"))
        for block in claims:
            sentence = block.options.claim
            result = record.results[page.items.index(block)]
            status = verified_on(result, record.backends or {}, cache.backends).replace("|", r"\|")
            rows.append(f"| {stash(sentence_html(sentence))} | [{title}]({link}#{claim_id(sentence)}) | {status} |")
    if not rows:
        raise DocexecError("the claims index found no claims in any page")
    return [
        "",
        f"{len(rows)} claims, each checked by running its code with "
        f"{versions_text(library_versions())} when this site was built.",
        "",
        "| Claim | Page | Verified on |",
        "| --- | --- | --- |",
        *rows,
        "",
    ]

