"""The Markdown extension (docexec/extension.py): raw HTML passes through its stash tokens
(a section that prints token characters shows them as they are); pages with the same text are
told apart by path; with pymdownx.snippets on, include markers in shown code are escaped."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from helpers import REPO, section


@pytest.mark.parametrize("number", ["0", "999"])
def test_stash_token_characters_in_a_section_are_shown_as_they_are(project, number):
    tokens = f'text = "\ue000{number}\ue001"\nlen(text)'
    project.write("snippets/s.py", section("claim", "1 == 1") + section("x", tokens))
    html = project.render(project.fence("claim", 'claim="One is one."') + project.fence("x"))
    assert html.count("One is one.") == 1
    assert f"\ue000{number}\ue001" in html


def test_pages_with_the_same_text_are_told_apart_by_path(project):
    hooks = f"hooks: [{REPO / 'docexec' / 'hook.py'}]\n"  # MkDocs' page event names the page
    project.write("mkdocs.yml", "site_name: t\nmarkdown_extensions:\n  - pymdownx.superfences\n  - docexec\n" + hooks)
    project.write("snippets/s.py", section("x", "print('same')"))
    project.write("docs/index.md", project.fence("x"))
    project.write("docs/copy.md", project.fence("x"))
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=project.root, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": f"{project.root}{os.pathsep}{REPO}", "NO_MKDOCS_2_WARNING": "1"}, timeout=120,
    )
    assert build.returncode == 0, build.stderr
    assert (project.root / "frozen" / "index.json").is_file() and (project.root / "frozen" / "copy.json").is_file()


def test_include_markers_inside_a_sections_string_are_shown_not_expanded(project):
    import markdown

    from docexec import DocexecExtension

    project.write("docs/includes/glossary.md", "GLOSSARY-TEXT\n")
    project.write("snippets/s.py", section("x", '''
        text = """
        --8<-- "docs/includes/glossary.md"
        """
        print(len(text.splitlines()))
    '''))
    page = project.fence("x")
    project.write("docs/p.md", page)
    extensions = [*project.EXTENSIONS, "pymdownx.snippets", DocexecExtension(root=str(project.root), page="p.md")]
    html = markdown.Markdown(extensions=extensions, extension_configs={
        "pymdownx.snippets": {"base_path": [str(project.root)], "check_paths": True}}).convert(page)
    assert "GLOSSARY-TEXT" not in html
    code = re.sub(r"<[^>]+>", "", html[: html.index("docexec-output")])
    assert "--8&lt;-- \"docs/includes/glossary.md\"" in code and ";--8" not in code
