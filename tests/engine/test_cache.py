"""The cache policy (docexec/cache.py, PageCache.record): a page's frozen outputs are reused
while nothing they depend on changes, re-executed when something does (or under refresh), and
compared under check mode, which never writes."""

from __future__ import annotations

import json

from docexec import freeze
from docexec.backends import library_versions
from helpers import fails


def test_an_unchanged_page_reuses_its_frozen_outputs(counted, project):
    page, runs = counted
    first = project.render(page)
    assert runs() == 1 and (project.root / "frozen" / "p.json").is_file()
    assert project.render(page) == first and runs() == 1


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
    with fails("frozen_differs", match="snippets/s.py") as error:
        project.render(page, mode="check")
    message = str(error.value)
    assert '-  "goodbye"' in message and '+  "hello"' in message
    assert json.loads(stored.read_text())["results"][1]["output"] == ["goodbye"]  # check never writes


def test_check_mode_without_frozen_outputs_fails(counted, project):
    page, _ = counted
    with fails("frozen_missing", "docs/p.md"):
        project.render(page, mode="check")


def test_check_mode_fails_on_a_frozen_file_made_with_other_module_source(counted, project):
    page, _ = counted
    project.render(page)
    project.write("snippets/helper.py", 'greeting = "hello"  # same output, other source\n')
    with fails("frozen_modules", "docs/p.md", match=r"snippets/helper\.py"):
        project.render(page, mode="check")
