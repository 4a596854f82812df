"""Frozen outputs (docexec/freeze.py and PageCache.record): reused while nothing they depend on
changes, re-executed when something does, compared under check mode."""

from __future__ import annotations

import json
import textwrap

import pytest

from docexec import DocexecError, freeze
from docexec.backends import library_versions

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


def test_an_unchanged_page_reuses_its_frozen_outputs(counted, project):
    page, runs = counted
    first = project.render(page)
    assert runs() == 1 and (project.root / "frozen" / "p.json").is_file()
    assert project.render(page) == first and runs() == 1


def test_the_frozen_record_keeps_its_format(counted, project):
    page, _ = counted
    project.render(page)
    record = json.loads((project.root / "frozen" / "p.json").read_text())
    assert set(record) == {"page", "key", "versions", "modules", "results", "checksum"}
    assert [result["source"] for result in record["results"]] == ["snippets/s.py:setup", "snippets/s.py:count"]
    # every project module the run loaded, with the hash of its source (dynamic imports included)
    assert set(record["modules"]) == {"snippets/__init__.py", "snippets/helper.py"}


def test_editing_a_section_or_an_imported_module_or_a_version_reexecutes(counted, project, monkeypatch):
    page, runs = counted
    project.render(page)
    project.write("snippets/helper.py", 'greeting = "hello again"\n')
    assert "hello again" in project.render(page) and runs() == 2
    source = project.root / "snippets" / "s.py"
    source.write_text(source.read_text().replace("print(greeting)", "print(greeting.upper())"))
    assert "HELLO AGAIN" in project.render(page) and runs() == 3
    project.render(page + "\nProse edits change nothing.\n")
    assert runs() == 3
    real = library_versions()
    monkeypatch.setattr("docexec.cache.library_versions", lambda: {**real, "Keras": "99.0"})
    project.render(page)
    assert runs() == 4


def test_refresh_always_reexecutes(counted, project):
    page, runs = counted
    project.render(page)
    project.render(page, mode="refresh")
    assert runs() == 2


def test_check_mode_executes_and_fails_on_a_changed_output_with_a_diff(counted, project):
    page, runs = counted
    project.render(page)
    project.render(page, mode="check")
    assert runs() == 2  # executed afresh even though nothing changed
    stored = project.root / "frozen" / "p.json"
    record = json.loads(stored.read_text())
    record["results"][1]["output"] = ["goodbye"]
    record["checksum"] = freeze.record_checksum(record)  # as if frozen by an older run
    stored.write_text(json.dumps(record))
    with pytest.raises(DocexecError) as error:
        project.render(page, mode="check")
    message = str(error.value)
    assert "snippets/s.py" in message and "differs from the frozen one" in message
    assert '-  "goodbye"' in message and '+  "hello"' in message
    assert json.loads(stored.read_text())["results"][1]["output"] == ["goodbye"]  # check never writes


def test_check_mode_without_frozen_outputs_fails(counted, project):
    page, _ = counted
    with pytest.raises(DocexecError, match="has no frozen outputs"):
        project.render(page, mode="check")


def test_mode_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("DOCEXEC_MODE", raising=False)
    monkeypatch.setenv("CI", "true")
    assert freeze.mode_from_environment() == "check"
    monkeypatch.setenv("CI", "")
    assert freeze.mode_from_environment() == "auto"
    monkeypatch.setenv("DOCEXEC_MODE", "refresh")
    assert freeze.mode_from_environment() == "refresh"


def test_imports_are_followed_transitively_without_importing(project):
    project.write("snippets/a.py", "from .b import thing\n")
    project.write("snippets/b.py", "import snippets.c\n")
    project.write("snippets/c.py", "import keras\nraise SystemExit('never imported')\n")
    found = freeze.reachable_modules(["from snippets import a"], project.root)
    assert found == {"snippets", "snippets.a", "snippets.b", "snippets.c"}
    assert "keras" in freeze.libraries_used(["from snippets import a"], project.root)


def test_the_key_does_not_read_imports_the_run_tells_the_modules(counted, project):
    """One list of a page's modules: what its run loaded. An import the key would have found by
    reading (snippets.helper) changes nothing in the key; the record's modules change instead."""
    page, runs = counted
    project.render(page)
    stored = project.root / "frozen" / "p.json"
    before = json.loads(stored.read_text())
    project.write("snippets/helper.py", 'greeting = "changed"\n')
    project.render(page)
    after = json.loads(stored.read_text())
    assert runs() == 2 and after["key"] == before["key"]
    assert after["modules"]["snippets/helper.py"] != before["modules"]["snippets/helper.py"]


def test_check_mode_fails_on_a_frozen_file_made_with_other_module_source(counted, project):
    page, _ = counted
    project.render(page)
    project.write("snippets/helper.py", 'greeting = "hello"  # same output, other source\n')
    with pytest.raises(DocexecError, match=r"not made from the current project modules: .*snippets/helper\.py"):
        project.render(page, mode="check")
