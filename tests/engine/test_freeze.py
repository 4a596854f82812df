"""The frozen store (docexec/freeze.py): the record's format, its key (items and versions; the
modules a run loaded are listed in the record, not read from imports), the mode from the
environment, and the imports followed to tell which libraries a page uses. When a record is
reused or re-executed is the cache policy's (test_cache)."""

from __future__ import annotations

import json

from docexec import freeze
from docexec.execution import libraries_used
from helpers import fails, section


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
    assert "keras" in libraries_used(["from snippets import a"], project.root)


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




def test_the_mode_is_read_strictly(monkeypatch, project):
    """Probe 66: " Refresh " was accepted, CI=on silently meant a local build, and a misspelt
    mode was wrapped by MkDocs as an extension that failed to load."""
    for name, value, kind in (("DOCEXEC_MODE", " Refresh ", "bad_mode"), ("DOCEXEC_MODE", "chek", "bad_mode"),
                              ("CI", "on", "bad_ci")):
        with monkeypatch.context() as patch:
            patch.setenv(name, value)
            with fails(kind, match=f"{name}={value!r}"):
                freeze.mode_from_environment()
    for value, mode in (("false", "auto"), ("0", "auto"), ("1", "check"), ("TRUE", "check")):
        monkeypatch.setenv("CI", value)
        assert freeze.mode_from_environment() == mode
    monkeypatch.setenv("DOCEXEC_MODE", "chek")
    converter = project.markdown("p.md", mode="")  # the extension loads; the page names the mistake
    with fails("bad_mode", "docs/p.md"):
        converter.convert("`{py} 1`\n")


def test_a_frozen_path_that_is_a_directory_fails_with_the_docexec_message(project):
    """Probe 39: a raw IsADirectoryError traceback, not the one message shape."""
    (project.root / "frozen" / "p.json").mkdir(parents=True)
    project.write("snippets/s.py", section("x", 'print("hi")'))
    with fails("frozen_unwritable", "docs/p.md", match=r"frozen/p.json: "):
        project.render(project.fence("x"))
    with fails("unreadable", "docs/p.md", match=r"frozen/p.json "):
        project.render(project.fence("x"), mode="check")


def test_a_temporary_file_a_killed_build_left_is_removed_by_the_next_save(project):
    """Probe 37: `.p.json.PID.tmp` of a build killed while saving stayed for good."""
    project.write("snippets/s.py", section("x", 'print("hi")'))
    stale = project.root / "frozen" / ".p.json.999999999.tmp"  # no process has that pid
    stale.parent.mkdir()
    stale.write_text("{")
    project.render(project.fence("x"))
    assert not stale.exists() and (project.root / "frozen" / "p.json").is_file()


def test_check_mode_names_a_frozen_record_whose_page_is_gone(counted, project):
    """Probe 43: frozen/gone.json, left by a deleted page, was ignored even in check mode."""
    page, _ = counted
    project.render(page)
    (project.root / "frozen" / "gone.json").write_text((project.root / "frozen" / "p.json").read_text())
    with fails("frozen_orphan", match=r"frozen/gone.json .*docs/gone.md"):
        project.render(page, mode="check")
