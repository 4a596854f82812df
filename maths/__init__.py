"""Render `$...$` and `$$...$$` LaTeX to MathML while the page is built.

The browser draws MathML itself, so a page needs no CDN and no JavaScript to
show its maths. Register as `maths` in `mkdocs.yml`.

The patterns run after inline code (so a `$` inside backticks or a fence is
left alone) and before escapes and emphasis (so `\\{`, `_` and `*` reach
LaTeX untouched). Like pandoc, an inline `$` opens maths only when a
non-space follows it and closes it only when a non-space precedes it and no
digit follows, so "from $5 to $6" stays text; `\\$` is a literal dollar.
"""

from __future__ import annotations

import re

from latex2mathml.converter import convert
from markdown import Extension, Markdown
from markdown.inlinepatterns import InlineProcessor

from docexec.errors import DocexecError

DISPLAY_RE = r"(?<!\\)\$\$(.+?)(?<!\\)\$\$"
INLINE_RE = r"(?<![\\$])\$(?![\s$])(.+?)(?<![\s\\])\$(?![\d$])"
# latex2mathml writes \operatorname{pad} and \max as <mo>, which browsers space
# like a binary operator ("pad (x)"); an <mi> of several letters is upright
# and unspaced, as TeX sets it.
OPERATOR_NAME_RE = re.compile(r"<mo>([A-Za-z]{2,})</mo>")

# After `backtick` (190, also pymdownx.inlinehilite's), before `escape` (180).
DISPLAY_PRIORITY = 187
INLINE_PRIORITY = 186


class MathsError(DocexecError, ValueError):
    """LaTeX that latex2mathml cannot convert, named so the page can be fixed. A DocexecError,
    so MkDocs prints the message (with the page it was building) instead of a traceback."""


def to_mathml(latex: str, display: str) -> str:
    """MathML for `latex`; `display` is "inline" or "block"."""
    if display not in ("inline", "block"):
        raise ValueError(f"display={display!r}: allowed are 'inline' and 'block'")
    try:
        mathml = convert(latex.strip(), display=display)
    except Exception as error:  # latex2mathml raises several unrelated types
        raise MathsError(f"cannot render LaTeX {latex!r} as MathML: {error!r}") from error
    if "\\" in mathml:  # latex2mathml prints a command it does not know as text
        unknown = sorted(set(re.findall(r"\\[A-Za-z]+", mathml)))
        raise MathsError(f"cannot render LaTeX {latex!r}: unknown command(s) {unknown}")
    return OPERATOR_NAME_RE.sub(r"<mi>\1</mi>", mathml)


class MathsProcessor(InlineProcessor):
    def __init__(self, pattern: str, md: Markdown, display: str):
        super().__init__(pattern, md)
        self.display = display

    def handleMatch(self, m, data):
        mathml = to_mathml(m.group(1), self.display)
        return self.md.htmlStash.store(mathml), m.start(0), m.end(0)


class MathsExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:
        if "$" not in md.ESCAPED_CHARS:
            md.ESCAPED_CHARS = [*md.ESCAPED_CHARS, "$"]
        md.inlinePatterns.register(
            MathsProcessor(DISPLAY_RE, md, "block"), "maths_display", DISPLAY_PRIORITY
        )
        md.inlinePatterns.register(
            MathsProcessor(INLINE_RE, md, "inline"), "maths_inline", INLINE_PRIORITY
        )


def makeExtension(**kwargs) -> MathsExtension:
    return MathsExtension(**kwargs)


__all__ = ["MathsError", "MathsExtension", "makeExtension", "to_mathml"]
