"""A page's executable items, read from its Markdown in one scan: `python exec` blocks,
`{py}` values and `<!-- docexec ... -->` directives, in reading order, each with its span
in the page so that rendering can splice results in without scanning the page again."""

from __future__ import annotations

import re
from pathlib import Path

from .backends import BACKENDS, Backends
from .errors import DocexecError
from .model import Block, BlockOptions, InlineValue, Page
from .sections import load_section, parse_include

FENCE_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>.*)$")
INLINE_VALUE = re.compile(r"`\{py\}\s+([^`]+?)\s*`")
INLINE_LIKE = re.compile(r"`\{py\}")  # what an inline value starts with, well-formed or not
DIRECTIVE = re.compile(r"^\s*<!--\s*docexec\s+(?P<options>.*?)\s*-->\s*$")
# A line pymdownx.snippets would expand (any `-+8<-+` marker, then a quoted file or nothing);
# its escape is a `;` before the marker.
INCLUDE_LINE = re.compile(r"""^[ \t]*-+8<-+(?:[ \t]+["']|[ \t]*$)""")


def parse_page(lines: list[str], root: Path, backends: Backends = BACKENDS) -> Page:
    """The page's items, with every section resolved against the snippet files under `root`;
    `backends=` may name those of `backends`. Errors name the page line; the caller adds the
    page's name."""
    page = Page(lines)
    fence_end = None  # the closing fence of a non-exec fence we are inside
    number = 0
    while number < len(lines):
        line = lines[number]
        if INCLUDE_LINE.match(line):  # an exec fence's own include line was consumed with its block
            raise DocexecError(
                f"an include line outside a `python exec` fence ({line.strip()!r}): pymdownx.snippets would show "
                f'what it names without running it; a page shows a section through a fence: ```python exec, then '
                f'--8<-- "snippets/module.py:section", then ```. To show the syntax, escape it: ;--8<--',
                "stray_include", line=number + 1,
            )
        if fence_end is not None:
            if closes(line, fence_end):
                fence_end = None
            number += 1
            continue
        opening = FENCE_OPEN.match(line)
        if opening:
            if opening["info"].split()[:2] == ["python", "exec"]:
                block = _parse_block(lines, number, opening, root, backends)
                page.items.append(block)
                number = block.end
                continue
            fence_end = opening["fence"]
        elif directive := DIRECTIVE.match(line):
            _apply_directive(page, directive["options"], number + 1)
            page.directives.add(number)
        else:
            page.items.extend(_inline_values(line, number + 1))
        number += 1
    if fence_end is not None:
        raise DocexecError(f"a code fence {fence_end} is never closed", "fence_unclosed")
    _check_claims(page.blocks)
    return page


def _inline_values(line: str, number: int) -> list[InlineValue]:
    values = [InlineValue(match[1], number, match.start(), match.end()) for match in INLINE_VALUE.finditer(line)]
    taken = {value.start for value in values}
    for start in (match.start() for match in INLINE_LIKE.finditer(line)):
        if start not in taken:  # `{py}`, `{py}x` or an unclosed one: it would show as code, unrun
            raise DocexecError(
                "an inline value is written `{py} EXPRESSION` (a space, then the expression, in one code span); "
                f"got {line[start:start + 40]!r}", "inline_form",
                line=number, column=start + 1,
            )
    return values


def closes(line: str, fence: str) -> bool:
    """Whether `line` closes a fence opened with `fence` (same character, at least as long)."""
    text = line.strip()
    return text.startswith(fence) and not text.strip(fence[0])


def _parse_block(lines, start, opening, root: Path, backends: Backends) -> Block:
    fence, indent, line = opening["fence"], opening["indent"], start + 1
    words = opening["info"].split(None, 2)
    try:
        options = BlockOptions.parse(words[2] if len(words) > 2 else "", backends)
    except DocexecError as error:
        raise error.at(line=line) from None
    body, end = [], start + 1
    while end < len(lines) and not closes(lines[end], fence):
        if lines[end].strip():
            body.append(lines[end])
        end += 1
    if end == len(lines):
        raise DocexecError("the `python exec` fence is never closed", "exec_fence_unclosed", line=line)
    if len(body) != 1:
        raise DocexecError(
            f"a `python exec` block holds exactly one include line "
            f"(--8<-- \"snippets/module.py:section\"); found {len(body)} lines",
            "block_lines", line=line,
        )
    try:
        section = load_section(root, *parse_include(body[0]))
    except DocexecError as error:
        raise error.at(line=line) from None
    return Block(start, end + 1, indent, section, options)


def claim_id(sentence: str) -> str:
    """The anchor of a claim: its words, lower case, joined by hyphens (at most 60 characters)."""
    words = re.findall(r"[a-z0-9]+", sentence.lower())
    return "claim-" + "-".join(words)[:60].rstrip("-")


def _check_claims(blocks: list[Block]) -> None:
    """Each claim needs an id of its own: a sentence with letters or digits, not shared."""
    seen: dict[str, Block] = {}
    for block in blocks:
        sentence = block.options.claim
        if sentence is None:
            continue
        anchor = claim_id(sentence)
        if anchor == "claim-":
            raise DocexecError(f"the claim {sentence!r} has no letters or digits to make its id from", "claim_no_id",
                               line=block.line)
        if anchor in seen:
            other = seen[anchor].options.claim
            raise DocexecError(
                f"the claim {sentence!r} "
                + ("is already made" if other == sentence else f"gets the id {anchor!r}, as the claim {other!r}")
                + f" at page line {seen[anchor].line}; each claim on a page needs its own sentence",
                "claim_twice", line=block.line)
        seen[anchor] = block


# directive -> (Page field, type, lowest, highest, what its value must be); a lowest of 0 is excluded.
# A day at most: inf gave a cryptic OverflowError and 1e9 was accepted (issue 18). 256 MB at least: a
# NumPy worker uses about 100 MB before its page runs, a Keras one 330 (probe 61).
DIRECTIVES = {
    "timeout": ("timeout", float, 0, 86400, "a number of seconds between 0 and 86400"),
    "memory": ("memory", float, 256, 1 << 20, "a number of MB between 256 and 1048576"),
    "file-size": ("file_size", int, 1, 1 << 20, "a whole number of MB between 1 and 1048576"),
    "processes": ("processes", int, 1, 4096, "a whole number between 1 and 4096"),
    "output-limit": ("output_limit", float, 0, float("inf"), "a positive number of kB"),
}


def _apply_directive(page: Page, text: str, line: int) -> None:
    for word in text.split():
        key, _, value = word.partition("=")
        if key == "claims-index" and not value:
            page.claims_index = True
            continue
        if key not in DIRECTIVES:
            raise DocexecError(f"unknown docexec directive {word!r}; use timeout=SECONDS, output-limit=KB, "
                               f"memory=MB, processes=N, file-size=MB or claims-index", "unknown_directive", line=line)
        name, kind, low, high, what = DIRECTIVES[key]
        try:
            number = kind(value)
        except ValueError:
            number = None
        if number is None or not (low < number <= high if low == 0 else low <= number <= high):  # nan: never
            raise DocexecError(f"{key} must be {what}, got {value!r}", "directive_value", line=line)
        setattr(page, name, number)


def key_items(page: Page) -> list[dict]:
    """What the page's outputs depend on, apart from imported modules and versions.
    Line numbers are left out: moving a section within its file does not change its output."""
    items = []
    for item in page.items:
        if isinstance(item, Block):
            items.append({"source": item.source, "code": item.code, "options": item.options.to_json()})
        else:
            items.append({"expression": item.expression})
    return items


def page_lines(file: Path) -> list[str]:
    """A page file's lines as MkDocs hands them to Markdown: BOM and front matter removed."""
    return strip_front_matter(file.read_text(encoding="utf-8-sig")).split("\n")


def strip_front_matter(text: str) -> str:
    match = re.match(r"^-{3}[ \t]*\n.*?\n(?:-{3}|\.{3})[ \t]*\n", text, re.S)
    return text[match.end():] if match else text


def _normalised(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()).strip()


def locate_page(lines: list[str], docs_dir: Path) -> str | None:
    """The path (inside docs_dir) of the Markdown file whose body is exactly these lines (under
    a renderer other than MkDocs; reads every page, a few milliseconds)."""
    wanted = _normalised("\n".join(lines))
    matches = [
        file.relative_to(docs_dir).as_posix()
        for file in sorted(docs_dir.rglob("*.md"))
        if _normalised(strip_front_matter(file.read_text(encoding="utf-8-sig"))) == wanted
    ]
    return matches[0] if len(matches) == 1 else None
