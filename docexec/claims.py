"""The claims index: every claim of every other page, in the navigation's order, each checked
(a false claim fails the build here, before it could be listed) and linked to its anchor."""

from __future__ import annotations

import os

from .config import load_mkdocs_config, nav_pages
from .engine import Engine
from .errors import DocexecError
from .freeze import library_versions
from .page import claim_id, parse_page, strip_front_matter
from .render import Stash, sentence_html, verified_on, versions_text


def claims_index(engine: Engine, this_page: str | None, stash: Stash) -> list[str]:
    rows = []
    for name in reading_order(engine):
        if name == this_page:
            continue
        file = engine.docs_dir / name
        lines = strip_front_matter(file.read_text(encoding="utf-8-sig")).split("\n")
        try:
            page = parse_page(lines, engine.root)
        except DocexecError as error:
            raise error.at(page=f"{engine.docs_dir.name}/{name}") from None
        claims = [block for block in page.blocks if "claim" in block.options]
        if not claims:
            continue
        record = engine.record(name, page)  # a false claim fails here, before it is listed
        title = next((line[2:].strip() for line in lines if line.startswith("# ")), name).replace("|", r"\|")
        link = os.path.relpath(name, os.path.dirname(this_page or "index.md"))
        for block in claims:
            sentence = block.options["claim"]
            result = record["results"][page.items.index(block)]
            status = verified_on(result, record.get("backends") or {}).replace("|", r"\|")
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


def reading_order(engine: Engine) -> list[str]:
    """Page paths (inside docs_dir) in the order the site's navigation lists them, then any
    others by name."""
    listed = nav_pages(load_mkdocs_config(engine.root))
    position = {name: index for index, name in reversed(list(enumerate(listed)))}
    pages = [file.relative_to(engine.docs_dir).as_posix() for file in sorted(engine.docs_dir.rglob("*.md"))]
    return sorted(pages, key=lambda name: position.get(name, len(listed)))
