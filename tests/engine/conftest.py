"""Fixtures of the engine's tests."""

from __future__ import annotations

import textwrap

import pytest

COUNTED = """
    # --8<-- [start:count]
    from snippets.helper import greeting
    with open(COUNTER, "a") as file:
        file.write("run\\n")
    print(greeting)
    # --8<-- [end:count]
"""


@pytest.fixture
def counted(project):
    """A page whose counting block writes a line to a file each time it really runs."""
    counter = project.root / "runs.txt"
    project.write("snippets/helper.py", 'greeting = "hello"\n')
    setup = f"# --8<-- [start:setup]\nCOUNTER = {str(counter)!r}\n# --8<-- [end:setup]\n"
    project.write("snippets/s.py", setup + textwrap.dedent(COUNTED))
    page = project.fence("setup", "hidden") + project.fence("count")

    def runs() -> int:
        return len(counter.read_text().splitlines()) if counter.exists() else 0

    return page, runs
