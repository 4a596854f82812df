"""The frozen store (docexec/freeze.py): the record's format, its key (items and versions; the
modules a run loaded are listed in the record, not read from imports), the mode from the
environment, and the imports followed to tell which libraries a page uses. When a record is
reused or re-executed is the cache policy's (test_cache)."""

from __future__ import annotations

import json

from docexec import freeze


def test_the_frozen_record_keeps_its_format(counted, project):
    page, _ = counted
    project.render(page)
    record = json.loads((project.root / "frozen" / "p.json").read_text())
    assert set(record) == {"page", "key", "versions", "modules", "results", "checksum"}
    assert [result["source"] for result in record["results"]] == ["snippets/s.py:setup", "snippets/s.py:count"]
    # every project module the run loaded, with the hash of its source (dynamic imports included)
    assert set(record["modules"]) == {"snippets/__init__.py", "snippets/helper.py"}


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


