"""Named sections of snippet modules, marked as pymdown-extensions' snippets marks them
(`# --8<-- [start:name]` ... `# --8<-- [end:name]`), but every mistake is an error naming the
file and line: an unknown, unclosed, nested, duplicated or stray section never renders."""

from __future__ import annotations

import ast
import functools
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from .errors import SectionError

NAME = r"[A-Za-z0-9_.-]+"
MARKER = re.compile(rf"^\s*#\s*--8<--\s*\[(start|end):({NAME})\]\s*$")
# Anything shaped like a marker; a line that matches this but not MARKER is a mistake.
MARKER_LIKE = re.compile(r"^\s*#\s*--8<--\s*\[\s*(start|end)\s*:(?P<name>.*)\]\s*$")
INCLUDE = re.compile(r'^--8<--\s+"(?P<target>[^"]*)"$')
NAME_RULE = "ASCII letters, digits, '_', '.' and '-'"
INCLUDABLE = "snippets/"  # what a page may include sections of: the project's package, .py files


@dataclass(frozen=True)
class Section:
    path: str  # as written in the page, relative to the project root
    name: str
    first_line: int  # 1-based line in the file of the section's first code line
    code: str


def parse_sections(text: str, path: str) -> dict[str, Section]:
    """All sections of one file, checked for nesting, closing and duplicates."""
    sections: dict[str, Section] = {}
    open_name, open_line, body = None, 0, []
    for number, line in enumerate(text.splitlines(), start=1):
        marker = MARKER.match(line)
        if not marker and (loose := MARKER_LIKE.match(line)):
            raise SectionError(
                f"section marker with the name {loose['name']!r}: a section name uses only {NAME_RULE}",
                "section_name", file=path, file_line=number,
            )
        if not marker:
            if open_name is not None:
                body.append(line)
            continue
        kind, name = marker.groups()
        where = {"file": path, "file_line": number}
        if kind == "start":
            if open_name is not None:
                raise SectionError(
                    f"section '{name}' starts inside section '{open_name}' "
                    f"(opened at line {open_line}); sections cannot nest", "section_nested", **where
                )
            if name in sections:
                raise SectionError(f"section '{name}' is defined twice in {path}", "section_twice", **where)
            open_name, open_line, body = name, number, []
        elif open_name is None:
            raise SectionError(f"section '{name}' ends but was never started", "end_unstarted", **where)
        elif name != open_name:
            raise SectionError(f"end of '{name}' while section '{open_name}' (line {open_line}) is open", "end_other",
                               **where)
        else:
            code = textwrap.dedent("\n".join(body)).strip("\n")
            first = open_line + 1 + next((i for i, text in enumerate(body) if text.strip()), len(body))
            sections[name] = Section(path, name, first, code)
            open_name = None
    if open_name is not None:
        raise SectionError(f"section '{open_name}' is never closed", "section_unclosed", file=path, file_line=open_line)
    return sections


def load_section(root: Path, path: str, name: str) -> Section:
    """The section `name` of the file `path` (relative to `root`)."""
    file = (root / path).resolve()
    if Path(path).is_absolute() or not file.is_relative_to(root.resolve()):
        raise SectionError(f"'{path}': snippet paths are relative to the project root and stay inside it", "outside")
    if not file.is_file():
        raise SectionError(f"'{path}': no such snippet file (looked in {root})", "no_file")
    stat = file.stat()
    sections = _parsed_file(file, path, stat.st_mtime_ns, stat.st_size)
    if name not in sections:
        known = ", ".join(sorted(sections)) or "none"
        raise SectionError(f"the file has no section '{name}'; its sections are: {known}", "no_section", file=path)
    section = sections[name]
    if not section.code.strip():
        raise SectionError("the section is empty", "section_empty", file=path, file_line=section.first_line,
                           section=name)
    return section


@functools.lru_cache(maxsize=256)
def _parsed_file(file: Path, path: str, mtime_ns: int, size: int) -> dict[str, Section]:
    """Sections of a file, parsed once per version of it (a page includes many from one module)."""
    return parse_sections(_utf8(file, path), path)


def parse_include(line: str) -> tuple[str, str]:
    """(path, name) from a page line `--8<-- "path:name"`."""
    example = '--8<-- "snippets/module.py:section"'
    match = INCLUDE.match(line.strip())
    if not match:
        raise SectionError(f"expected an include line like '{example}', got {line.strip()!r}", "include_form")
    path, colon, name = match["target"].rpartition(":")
    if colon and not (path.startswith(INCLUDABLE) and path.endswith(".py")):
        raise SectionError(f"the include {match['target']!r} names {path}; a page includes sections of "
                           f"{INCLUDABLE}*.py only (the project's modules, which its tests import)", "include_outside")
    if not colon:
        raise SectionError(f"the include {match['target']!r} names no section; a page runs one section of a file: "
                           f"'{example}'", "include_no_section")
    if not re.fullmatch(NAME, name):
        raise SectionError(f"the include {match['target']!r} names the section {name!r}; a section name uses only "
                           f"{NAME_RULE}", "include_name")
    return path, name


def stray_lines(text: str) -> list[int]:
    """Line numbers of code in no section: code a page or the notebook would run without
    showing. The module's docstring does not count."""
    body = ast.parse(text).body
    docstring = set()
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        docstring = set(range(body[0].lineno, body[0].end_lineno + 1))
    inside, stray = False, []
    for number, line in enumerate(text.splitlines(), start=1):
        marker = MARKER.match(line)
        if marker:
            inside = marker.group(1) == "start"
        elif line.strip() and not inside and number not in docstring:
            stray.append(number)
    return stray


def _utf8(file: Path, shown: str) -> str:
    """The file's text; a byte that is not UTF-8 is an error naming the file and the byte's
    offset, not a raw UnicodeDecodeError blamed on the page that included it (issue 18)."""
    data = file.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise SectionError(
            f"{shown} is not UTF-8: byte 0x{data[error.start]:02x} at offset {error.start} (line {line}); "
            f"save it as UTF-8", "not_utf8"
        ) from None
