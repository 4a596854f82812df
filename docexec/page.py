"""A page's executable items, read from its Markdown: `python exec` blocks, `{py}` values
and `<!-- docexec ... -->` directives, in reading order."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from .sections import SectionError, load_section, parse_include

FENCE_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>.*)$")
INLINE_VALUE = re.compile(r"`\{py\}\s+([^`]+?)\s*`")
DIRECTIVE = re.compile(r"^\s*<!--\s*docexec\s+(?P<options>.*?)\s*-->\s*$")
BLOCK_OPTIONS = {"hidden", "alt", "raises", "claim"}


@dataclass
class Block:
    line: int  # 1-based line of the opening fence in the page
    indent: str
    source: str  # "snippets/x.py:name"
    options: dict
    end: int = 0  # index of the first page line after the closing fence
    code: str = ""
    path: str = ""
    first_line: int = 0


@dataclass
class Page:
    """A page's executable items in reading order, and the lines they came from."""

    lines: list[str]
    items: list = field(default_factory=list)  # Block or str (an inline expression)
    timeout: float | None = None
    claims_index: bool = False


def parse_page(lines: list[str]) -> Page:
    page = Page(lines)
    fence_end = None  # the closing fence of a non-exec fence we are inside
    number = 0
    while number < len(lines):
        line = lines[number]
        if fence_end is not None:
            if closes(line, fence_end):
                fence_end = None
            number += 1
            continue
        opening = FENCE_OPEN.match(line)
        if opening:
            info = opening["info"].split()
            if info[:2] == ["python", "exec"]:
                block, number = _parse_block(lines, number, opening)
                page.items.append(block)
                continue
            fence_end = opening["fence"]
        elif directive := DIRECTIVE.match(line):
            _apply_directive(page, directive["options"], number + 1)
        else:
            page.items.extend(match.group(1) for match in INLINE_VALUE.finditer(line))
        number += 1
    if fence_end is not None:
        raise SectionError(f"a code fence {fence_end} is never closed")
    return page


def closes(line: str, fence: str) -> bool:
    """Whether `line` closes a fence opened with `fence` (same character, at least as long)."""
    text = line.strip()
    return text.startswith(fence) and not text.strip(fence[0])


def _parse_block(lines, start, opening) -> tuple[Block, int]:
    fence, indent = opening["fence"], opening["indent"]
    options = _parse_options(opening["info"].split(None, 2)[2] if len(opening["info"].split()) > 2 else "", start + 1)
    body, end = [], start + 1
    while end < len(lines) and not (
        closes(lines[end], fence)
    ):
        if lines[end].strip():
            body.append(lines[end])
        end += 1
    if end == len(lines):
        raise SectionError(f"page line {start + 1}: the `python exec` fence is never closed")
    if len(body) != 1:
        raise SectionError(
            f"page line {start + 1}: a `python exec` block holds exactly one include line "
            f"(--8<-- \"snippets/module.py:section\"); found {len(body)} lines"
        )
    path, name = parse_include(body[0])
    return Block(start + 1, indent, f"{path}:{name}", options, end=end + 1), end + 1


def _parse_options(text: str, line: int) -> dict:
    options = {}
    for word in shlex.split(text):
        key, has_value, value = word.partition("=")
        if key not in BLOCK_OPTIONS:
            raise SectionError(
                f"page line {line}: unknown option {key!r}; allowed: {', '.join(sorted(BLOCK_OPTIONS))}"
            )
        if (key == "hidden") == bool(has_value):
            form = "hidden" if key == "hidden" else f'{key}="..."'
            raise SectionError(f"page line {line}: option {key!r} is written {form}")
        options[key] = value if has_value else True
    if "claim" in options and ("hidden" in options or "raises" in options):
        raise SectionError(f"page line {line}: a claim block cannot also be hidden or raise")
    return options


def _apply_directive(page: Page, text: str, line: int) -> None:
    for word in text.split():
        key, _, value = word.partition("=")
        if key == "claims-index" and not value:
            page.claims_index = True
        elif key == "timeout":
            try:
                page.timeout = float(value)
            except ValueError:
                page.timeout = -1
            if not page.timeout > 0:
                raise SectionError(f"page line {line}: timeout must be a positive number of seconds, got {value!r}")
        else:
            raise SectionError(f"page line {line}: unknown docexec directive {word!r}; use timeout=SECONDS or claims-index")


def resolve_sections(page: Page, root: Path) -> None:
    for item in page.items:
        if isinstance(item, Block):
            path, name = item.source.rsplit(":", 1)
            try:
                section = load_section(root, path, name)
            except SectionError as error:
                raise SectionError(f"page line {item.line}: {error}") from None
            item.code, item.path, item.first_line = section.code, section.path, section.first_line


def key_items(page: Page) -> list[dict]:
    """What the page's outputs depend on, apart from imported modules and versions.
    Line numbers are left out: moving a section within its file does not change its output."""
    items = []
    for item in page.items:
        if isinstance(item, Block):
            items.append({"source": item.source, "code": item.code, "options": item.options})
        else:
            items.append({"expression": item})
    return items


def strip_front_matter(text: str) -> str:
    match = re.match(r"^-{3}[ \t]*\n.*?\n(?:-{3}|\.{3})[ \t]*\n", text, re.S)
    return text[match.end():] if match else text


def _normalised(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()).strip()


_LOCATED: dict = {}


def locate_page(lines: list[str], docs_dir: Path) -> str | None:
    """The path (inside docs_dir) of the Markdown file whose body is exactly these lines."""
    wanted = _normalised("\n".join(lines))
    if (docs_dir, wanted) in _LOCATED:
        return _LOCATED[(docs_dir, wanted)]
    matches = [
        file.relative_to(docs_dir).as_posix()
        for file in sorted(docs_dir.rglob("*.md"))
        if _normalised(strip_front_matter(file.read_text(encoding="utf-8-sig"))) == wanted
    ]
    found = matches[0] if len(matches) == 1 else None
    _LOCATED[(docs_dir, wanted)] = found
    return found
