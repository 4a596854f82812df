"""One error type and one location format (docexec/errors.py)."""

from __future__ import annotations

import pytest

from docexec import DocexecError
from docexec.errors import Location
from docexec.freeze import mode_from_environment


@pytest.mark.parametrize(
    "where, text",
    [
        ({"page": "docs/p.md", "line": 3, "file": "snippets/s.py", "file_line": 4, "section": "x"},
         "docs/p.md:3 (snippets/s.py:4, section 'x')"),
        ({"page": "docs/p.md", "line": 3, "column": 7}, "docs/p.md:3:7"),
        ({"line": 3}, "page line 3"),
        ({"file": "snippets/s.py", "file_line": 2}, "snippets/s.py:2"),
        ({}, ""),
    ],
)
def test_a_location_reads_page_line_then_snippet_line_and_section(where, text):
    assert str(Location(**where)) == text


def test_the_page_is_added_without_losing_what_was_known():
    error = DocexecError("boom", line=3, file="snippets/s.py", file_line=4, section="x")
    assert str(error) == "docexec: page line 3 (snippets/s.py:4, section 'x'): boom"
    located = error.at(page="docs/p.md", line=99)
    assert str(located) == "docexec: docs/p.md:3 (snippets/s.py:4, section 'x'): boom"
    assert isinstance(located, DocexecError) and located.reason == "boom"


def test_a_bad_mode_is_a_docexec_error(monkeypatch):
    monkeypatch.setenv("DOCEXEC_MODE", "sometimes")
    with pytest.raises(DocexecError, match="DOCEXEC_MODE='sometimes' is not a mode; use one of auto, check, refresh"):
        mode_from_environment()
