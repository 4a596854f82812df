"""Count the words a reader reads on each explanation page of docs/, and fail over a budget.

    python tools/word_count.py [--budget 7500] [--docs docs]

The explanation pages are every docs/*.md but the reference pages (questions, appendix, claims,
demo). A page's words are its prose plus its claim sentences (the `claim="..."` attributes, shown
in the page's claim boxes). Prose leaves out code fences, HTML comments and tags and link targets;
inline code counts as one word, as a reader skims it. The rules are those of the project's
before-stop hook, so the two agree on every page.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

DEFAULT_BUDGET = 7500
REFERENCE_PAGES = frozenset({"questions", "appendix", "claims", "demo"})

FENCE = re.compile(r"(?ms)^([ \t]*)(`{3,}|~{3,}).*?^\1\2[ \t]*$")
COMMENT_OR_TAG = re.compile(r"(?s)<!--.*?-->|<[^>]+>")
LINK_TARGET = re.compile(r"\]\([^)]*\)")
INLINE_CODE = re.compile(r"`[^`]*`")
WORD = re.compile(r"[A-Za-z0-9][\w'.-]*")
CLAIM = re.compile(r'claim="([^"]*)"')


def prose_words(markdown: str) -> int:
    """The number of words of prose in one page's Markdown, its claim sentences included."""
    claims = INLINE_CODE.sub(" x ", " ".join(CLAIM.findall(markdown)))
    text = FENCE.sub(" ", markdown)
    text = COMMENT_OR_TAG.sub(" ", text)
    text = LINK_TARGET.sub("]", text)
    text = INLINE_CODE.sub(" x ", text)
    return len(WORD.findall(text)) + len(WORD.findall(claims))


def page_counts(docs: Path) -> dict[str, int]:
    """Words per explanation page (its file name without .md), for every docs/*.md but the
    reference pages, by name."""
    pages = [page for page in sorted(docs.glob("*.md")) if page.stem not in REFERENCE_PAGES]
    if not pages:
        raise FileNotFoundError(f"no explanation pages in {docs}")
    return {page.stem: prose_words(page.read_text(encoding="utf-8", errors="replace")) for page in pages}


def table(counts: dict[str, int]) -> str:
    width = max(map(len, counts)) if counts else 4
    rows = [f"{name:<{width}}  {words:>6}" for name, words in sorted(counts.items(), key=lambda item: -item[1])]
    return "\n".join([*rows, f"{'total':<{width}}  {sum(counts.values()):>6}"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=int, default=DEFAULT_BUDGET,
                        help=f"the most words allowed in total (default {DEFAULT_BUDGET})")
    parser.add_argument("--docs", type=Path, default=Path("docs"), help="the folder of pages (default docs)")
    arguments = parser.parse_args(argv)
    if arguments.budget < 0:
        parser.error(f"--budget must be 0 or more, got {arguments.budget}")
    counts = page_counts(arguments.docs)
    print(table(counts))
    total = sum(counts.values())
    if total > arguments.budget:
        print(f"over budget: {total} words, {total - arguments.budget} more than {arguments.budget}",
              file=sys.stderr)
        return 1
    print(f"within budget: {total} of {arguments.budget} words")
    return 0


if __name__ == "__main__":
    sys.exit(main())
