"""Compare what the code on two builds of the site printed; fail with the diff.

    python tools/drift_diff.py SITE_PINNED SITE_NEWEST

The weekly drift canary builds the site once with the pinned libraries and
once with the newest TensorFlow, Keras and NumPy. Only what the code produced
is compared, page by page: every executed output (`.docexec-output`), every
value injected into the prose (`.docexec-value`) and every figure (by a hash
of its image, named by its alt text). Version stamps and the rest of the page
are left out, since they change with every release. Exit 1 when anything
differs, printing a unified diff a person can read next to the prose.
"""
from __future__ import annotations

import argparse
import difflib
import hashlib
import sys
from html.parser import HTMLParser
from pathlib import Path

VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
TEXT_CLASSES = ("docexec-output", "docexec-value")


class _ProducedParser(HTMLParser):
    """Collects the text of output and value elements, and figure images, in page order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._open: list[tuple[str, int, list[str]]] = []  # (kind, depth it opened at, text)
        self._depth = 0
        self._label_depth: int | None = None  # inside the block's "Output"/"Raised" label
        self._label: list[str] = []
        self._in_figure = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "figure" and "docexec-figure" in classes:
            self._in_figure = True
        if tag == "img" and self._in_figure:
            digest = hashlib.sha256((attributes.get("src") or "").encode()).hexdigest()[:12]
            self.lines.append(f"figure {attributes.get('alt')!r}: image {digest}")
        if tag in VOID_TAGS:
            return
        self._depth += 1
        kind = next((name for name in TEXT_CLASSES if name in classes), None)
        if kind and not self._open:
            self._open.append((kind, self._depth, []))
        elif self._open and "docexec-label" in classes:
            self._label_depth = self._depth

    def handle_endtag(self, tag):
        if tag in VOID_TAGS:
            return
        if tag == "figure":
            self._in_figure = False
        if self._label_depth == self._depth:
            self._label_depth = None
        elif self._open and self._open[-1][1] == self._depth:
            kind, _, text = self._open.pop()
            label = "value" if kind == "docexec-value" else "".join(self._label).strip() or "output"
            self._label = []
            self.lines.append(f"{label.lower()}:")
            self.lines.extend("    " + line for line in "".join(text).strip("\n").splitlines())
        self._depth -= 1

    def handle_data(self, data):
        if self._label_depth is not None:
            self._label.append(data)
        elif self._open:
            self._open[-1][2].append(data)


def produced(page: Path) -> list[str]:
    parser = _ProducedParser()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.lines


def pages_of(site: Path) -> dict[str, Path]:
    return {html.relative_to(site).as_posix(): html for html in sorted(site.rglob("*.html"))}


def drift(pinned_site: Path, newest_site: Path) -> list[str]:
    """Unified diff lines of everything produced that differs, page by page."""
    pinned, newest = pages_of(pinned_site), pages_of(newest_site)
    diff: list[str] = []
    for name in sorted(pinned.keys() | newest.keys()):
        before = produced(pinned[name]) if name in pinned else []
        after = produced(newest[name]) if name in newest else []
        diff += difflib.unified_diff(before, after, f"pinned/{name}", f"newest/{name}", lineterm="")
    return diff


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Diff the executed outputs of two site builds.")
    parser.add_argument("pinned", type=Path, help="site built with the pinned libraries")
    parser.add_argument("newest", type=Path, help="site built with the newest libraries")
    args = parser.parse_args(argv[1:])
    for site in (args.pinned, args.newest):
        if not site.is_dir():
            parser.error(f"each site must be a built site folder; given: {site}")
    diff = drift(args.pinned, args.newest)
    if diff:
        print("Behaviour changed with the newest libraries; outputs differ:\n")
        print("\n".join(diff))
        return 1
    outputs = sum(len(produced(page)) for page in pages_of(args.pinned).values())
    print(f"No drift: {outputs} output lines, values and figures are the same on both builds.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
