"""Sections of snippet files (docexec/sections.py): found by name, every mistake an error
naming the file and line."""

from __future__ import annotations

import pytest

from docexec import DocexecError
from docexec.sections import SectionError, load_section, parse_include, parse_sections

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
    "text, message",
    [
        ("# --8<-- [start:a]\nx = 1\n", "s.py:1: section 'a' is never closed"),
        ("# --8<-- [start:a]\n# --8<-- [start:b]\n", "s.py:2: section 'b' starts inside section 'a'"),
        ("# --8<-- [end:a]\n", "s.py:1: section 'a' ends but was never started"),
        ("# --8<-- [start:a]\n# --8<-- [end:b]\n", "s.py:2: end of 'b' while section 'a'"),
        ("# --8<-- [start:a]\n# --8<-- [end:a]\n# --8<-- [start:a]\n", "s.py:3: section 'a' is defined twice"),
        # A marker whose name the marker pattern refuses used to be skipped as a comment.
        ("# --8<-- [start:my section]\nx = 1\n# --8<-- [end:my section]\n",
         "s.py:1: section marker with the name 'my section'"),
        ("# --8<-- [start:a]\nx = 1\n# --8<-- [end:été]\n", "s.py:3: section marker with the name 'été'"),
    ],
)
def test_malformed_sections_are_errors_naming_file_and_line(text, message):
    with pytest.raises(SectionError, match=message.replace("[", r"\[")):
        parse_sections(text, "s.py")


def test_a_section_error_is_a_docexec_error():
    assert issubclass(SectionError, DocexecError)


def test_unknown_section_lists_the_known_ones(tmp_path):
    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets" / "s.py").write_text(SOURCE)
    message = "snippets/s.py: the file has no section 'three'; its sections are: one, two"
    with pytest.raises(SectionError, match=message):
        load_section(tmp_path, "snippets/s.py", "three")


def test_missing_file_and_escaping_paths_are_errors(tmp_path):
    with pytest.raises(SectionError, match="no such snippet file"):
        load_section(tmp_path, "snippets/none.py", "a")
    with pytest.raises(SectionError, match="stay inside it"):
        load_section(tmp_path / "docs", "../outside.py", "a")


@pytest.mark.parametrize(
    "line, message",
    [
        ('--8<-- "snippets/s.py"', "names no section"),
        ('--8<-- "snippets/s.py:my section"', "names the section 'my section'; a section name uses only ASCII"),
        ('--8<-- "snippets/s.py:sección"', "names the section 'sección'"),
        ("print(1)", "expected an include line"),
    ],
)
def test_an_include_line_says_what_is_wrong_with_it(line, message):
    with pytest.raises(SectionError, match=message):
        parse_include(line)


def test_an_include_line_gives_path_and_section():
    assert parse_include('  --8<-- "snippets/a.b/s.py:one.two-3"  ') == ("snippets/a.b/s.py", "one.two-3")
