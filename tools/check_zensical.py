"""Did a Zensical build of this site render every page of the nav, with its executed outputs?

    python tools/check_zensical.py SITE_DIR [--config mkdocs.yml]

Zensical (the successor of Material for MkDocs) reads mkdocs.yml and runs Python-Markdown extensions,
so docexec runs there too, but it skips the MkDocs plugins it does not know (mkdocs-jupyter among them)
without a word. This check makes that loud. For every page in the nav it expects the built page, and for a
Markdown page, what its source asks docexec for:

- one claim box ("docexec-claim") per block with `claim=`,
- at least one figure ("docexec-figure") per block with `alt=` (a block may draw more than one),
- one value ("docexec-value") per inline `{py} ...`,
- executed code when a shown block exists (code titled with its snippets file, an output
  ("docexec-output") or a claim box), and the version stamp ("docexec-stamp"),
- an item per claim of the whole site on the page holding the claims index (its "docexec-scope" badge).

Exit 1 naming every missing page and every page short of its outputs; 0 with a one-line summary.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Expected:
    """What one Markdown page asks docexec to render."""

    blocks: int = 0
    shown: int = 0
    claims: int = 0
    figure_blocks: int = 0
    values: int = 0
    claims_index: bool = False


def expected_from_markdown(text: str, root: Path) -> Expected:
    """Read by docexec's own parser (sections resolved against the snippets under `root`)."""
    from docexec.page import parse_page, strip_front_matter

    page = parse_page(strip_front_matter(text).split("\n"), root)
    blocks = page.blocks
    return Expected(
        blocks=len(blocks),
        shown=sum(not block.options.hidden for block in blocks),
        claims=sum(block.options.claim is not None for block in blocks),
        figure_blocks=sum(block.options.alt is not None for block in blocks),
        values=len(page.items) - len(blocks),
        claims_index=page.claims_index,
    )


def built_path(page: str) -> str:
    """Where a page lands with directory URLs (MkDocs' and Zensical's default): a/b.md -> a/b/index.html."""
    stem = page.rsplit(".", 1)[0]
    if stem == "index" or stem.endswith("/index"):
        return f"{stem}.html"
    return f"{stem}/index.html"


def count_class(html: str, name: str) -> int:
    return sum(name in value.split() for value in re.findall(r'class="([^"]*)"', html))


def problems_of_page(html: str, expected: Expected, site_claims: int) -> list[str]:
    found = {name: count_class(html, f"docexec-{name}")
             for name in ("claim", "figure", "value", "output", "stamp", "scope")}
    problems = []
    if found["claim"] != expected.claims:
        problems.append(f"{found['claim']} claim boxes, the source has {expected.claims} claim= blocks")
    if found["figure"] < expected.figure_blocks:
        problems.append(f"{found['figure']} figures, the source has {expected.figure_blocks} blocks with alt=")
    if found["value"] != expected.values:
        problems.append(f"{found['value']} inline values, the source has {expected.values} `{{py}} ...`")
    if expected.shown and not (found["output"] or found["claim"] or count_class(html, "filename")):
        problems.append(f"no executed output, the source shows {expected.shown} exec blocks")
    if (expected.blocks or expected.claims_index) and found["stamp"] != 1:
        problems.append(f"{found['stamp']} version stamps, expected 1")
    if expected.claims_index:
        rows = found["scope"]  # each listed claim has one badge saying what it ran on
        if rows != site_claims:
            problems.append(f"the claims index lists {rows} claims, the pages have {site_claims}")
    return problems


def check(site: Path, config_file: Path) -> tuple[list[str], list[str]]:
    """(problems, pages checked)."""
    from docexec.config import docs_dir, load_mkdocs_config, nav_pages

    config = load_mkdocs_config(config_file.parent, config_file.name)
    docs = docs_dir(config_file.parent, config)
    pages = nav_pages(config)
    if not pages:
        return [f"{config_file} has no nav to check"], []
    sources = {page: (docs / page).read_text(encoding="utf-8") for page in pages if page.endswith(".md")}
    expected = {page: expected_from_markdown(text, config_file.parent.resolve()) for page, text in sources.items()}
    site_claims = sum(e.claims for e in expected.values())
    problems = []
    for page in pages:
        html_file = site / built_path(page)
        if not html_file.is_file():
            problems.append(f"{page}: missing (no {html_file.relative_to(site)})")
        elif page in expected:
            html = html_file.read_text(encoding="utf-8")
            problems += [f"{page}: {problem}" for problem in problems_of_page(html, expected[page], site_claims)]
    return problems, pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="the folder Zensical built")
    parser.add_argument("--config", type=Path, default=Path("mkdocs.yml"), help="the MkDocs configuration")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        print(f"{args.site} has no index.html: is it the folder Zensical built?", file=sys.stderr)
        return 1
    problems, pages = check(args.site, args.config)
    if problems:
        print(f"{len(problems)} problem(s) over the {len(pages)} nav pages of this build:")
        print("\n".join(f"  {problem}" for problem in problems))
        return 1
    print(f"All {len(pages)} nav pages built, each with the executed outputs its source asks for.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
