"""What a section printed, made safe to store and to show (in the build, on what a worker sent
back): characters a reader cannot see, or that change how the rest of the line reads, are
written out visibly; memory addresses are found, to be refused."""

from __future__ import annotations

import re

# Default size limit of one block's output (printed text, final value, error and figures), in kB.
OUTPUT_LIMIT_KB = 200

# C0 controls but tab and newline, DEL and C1 controls: ESC starts terminal escape sequences,
# NUL and BEL are invisible; Unicode line/paragraph separators and the C0 separators that
# str.splitlines() treats as line breaks would split a stored line in two.
_CONTROL = "\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029"
# Bidirectional overrides, embeddings, isolates and marks make a line read in another order
# than it runs (the "Trojan source" characters), and zero-width characters hide text.
_BIDI = "\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_SURROGATE = "\ud800-\udfff"
UNSAFE = re.compile(f"[{_CONTROL}{_BIDI}{_SURROGATE}]")

# `<Line2D object at 0x7f3a...>`, `<function f at 0x...>`: an address differs on every run.
ADDRESS = re.compile(r"\bat 0x[0-9a-fA-F]{4,}")


def escape(character: str) -> str:
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: str) -> str:
    """`text` with every unsafe character written as its Python escape (`\\x1b`, `\\u202e`,
    `\\udc80`), so the reader sees that it is there and nothing else changes."""
    return UNSAFE.sub(lambda match: escape(match.group()), text)


def find_address(text: str) -> str | None:
    """The line of `text` that shows a memory address, if any."""
    for line in text.splitlines():
        if ADDRESS.search(line):
            return line.strip()
    return None
