"""Sections of snippet files (docexec/sections.py): found by name, every mistake an error
naming the file and line."""

from __future__ import annotations

import pytest

from docexec import DocexecError
from docexec.sections import SectionError, load_section, parse_include, parse_sections
from helpers import fails

SOURCE = """\
import math
# --8<-- [start:one]
a = 1
# --8<-- [end:one]

# --8<-- [start:two]

b = a + 1
# --8<-- [end:two]
"""


def test_sections_are_found_by_name_with_their_line_numbers():
    sections = parse_sections(SOURCE, "s.py")
    assert sections["one"].code == "a = 1" and sections["one"].first_line == 3
    assert sections["two"].code == "b = a + 1" and sections["two"].first_line == 8


@pytest.mark.parametrize(
    "text, kind, at",
    [
        ("# --8<-- [start:a]\nx = 1\n", "section_unclosed", "s.py:1"),
        ("# --8<-- [start:a]\n# --8<-- [start:b]\n", "section_nested", "s.py:2"),
        ("# --8<-- [end:a]\n", "end_unstarted", "s.py:1"),
        ("# --8<-- [start:a]\n# --8<-- [end:b]\n", "end_other", "s.py:2"),
        ("# --8<-- [start:a]\n# --8<-- [end:a]\n# --8<-- [start:a]\n", "section_twice", "s.py:3"),
        # A marker whose name the marker pattern refuses used to be skipped as a comment.
        ("# --8<-- [start:my section]\nx = 1\n# --8<-- [end:my section]\n", "section_name", "s.py:1"),
        ("# --8<-- [start:a]\nx = 1\n# --8<-- [end:été]\n", "section_name", "s.py:3"),
    ],
)
def test_malformed_sections_are_errors_naming_file_and_line(text, kind, at):
    with fails(kind, at, error=SectionError):
        parse_sections(text, "s.py")


def test_a_section_error_is_a_docexec_error():
    assert issubclass(SectionError, DocexecError)


def test_unknown_section_lists_the_known_ones(tmp_path):
    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets" / "s.py").write_text(SOURCE)
    with fails("no_section", "snippets/s.py", match="its sections are: one, two$", error=SectionError):
        load_section(tmp_path, "snippets/s.py", "three")


def test_missing_file_and_escaping_paths_are_errors(tmp_path):
    with fails("no_file", error=SectionError):
        load_section(tmp_path, "snippets/none.py", "a")
    with fails("outside", error=SectionError):
        load_section(tmp_path / "docs", "../outside.py", "a")


@pytest.mark.parametrize(
    "line, kind",
    [
        ('--8<-- "snippets/s.py"', "include_no_section"),
        ('--8<-- "snippets/s.py:my section"', "include_name"),
        ('--8<-- "snippets/s.py:sección"', "include_name"),
        ('--8<-- "docs/p.md:a"', "include_outside"),
        ("print(1)", "include_form"),
    ],
)
def test_an_include_line_says_what_is_wrong_with_it(line, kind):
    with fails(kind, error=SectionError):
        parse_include(line)


def test_an_include_line_gives_path_and_section():
    assert parse_include('  --8<-- "snippets/a.b/s.py:one.two-3"  ') == ("snippets/a.b/s.py", "one.two-3")
