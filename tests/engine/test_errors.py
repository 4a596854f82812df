"""One error type, one location format, and the failures' kinds (docexec/errors.py). Every other test
asserts a failure's kind (helpers.fails); here each kind's wording is checked, once."""

from __future__ import annotations

import ast
import os
import re

import pytest

from docexec import DocexecError, freeze
from docexec.cache import PageCache
from docexec.errors import Location, PageFailed
from docexec.freeze import Store
from docexec.model import BlockOptions, BlockResult, Record, ValueRecord
from docexec.page import parse_page
from docexec.render import output_html, pair_results
from docexec.sections import load_section, parse_include, parse_sections
from helpers import REPO


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
    error = DocexecError("boom", "a_kind", line=3, file="snippets/s.py", file_line=4, section="x")
    assert str(error) == "docexec: page line 3 (snippets/s.py:4, section 'x'): boom"
    located = error.at(page="docs/p.md", line=99)
    assert str(located) == "docexec: docs/p.md:3 (snippets/s.py:4, section 'x'): boom"
    assert isinstance(located, DocexecError) and (located.reason, located.kind) == ("boom", "a_kind")


# ----------------------------------------------------------------------------- each kind's wording

# A failure of the page's run: PageFailed(kind, item, on, **fields) fills the template TEMPLATES[kind].
TEMPLATES = [
    ("timeout", {"limit": 1.5, "at": "; it was at snippets/s.py:3"},
     "ran past the page's time limit of 1.5 s on x (set another with <!-- docexec timeout=SECONDS -->); "
     "it was at snippets/s.py:3"),
    ("exited", {"text": "SystemExit(0)", "where": "snippets/s.py:3", "details": "Traceback ..."},
     "raised SystemExit(0) at snippets/s.py:3 on x; a section must not exit or interrupt the build (it runs in a "
     "worker process, which the build stops)\nTraceback ..."),
    ("code_failed",
     {"where": "snippets/s.py:3", "expected": " (the page expected KeyError)", "details": "Traceback ..."},
     "failed at snippets/s.py:3 on x (the page expected KeyError)\nTraceback ..."),
    ("raised_nothing", {"expected": "KeyError"}, 'the block is marked raises="KeyError" but raised nothing on x'),
    ("threads_left", {"count": 1, "names": "chatter"},
     "the section left 1 thread(s) running (chatter) on x; join every thread a section starts before it ends, so "
     "that what it prints lands in its own output"),
    ("too_much_output", {"kb": 300, "limit_kb": 200},
     "the block produced 300 kB of output on x, over the limit of 200 kB a block; print less, or raise the page's "
     "limit with <!-- docexec output-limit=KB -->"),
    ("address", {"source": "printed by snippets/s.py:3", "line": "<f at 0x7f00aa>"},
     "the output shows a memory address on x, which changes on every run (printed by snippets/s.py:3): "
     "'<f at 0x7f00aa>'; print something stable instead (a value, a name, a shape)"),
    ("hidden_shows", {},
     "the block is hidden but printed or drew something on x; show it, or keep set-up sections quiet"),
    ("claim_not_bool", {"sentence": "One is one.", "value_type": "int"},
     'the check of claim "One is one." must end in an expression that is True or False, or in '
     "docexec.checks.over(...) on x; it ended in int"),
    ("claim_ran_on_nothing", {"sentence": "One is one.", "last_line": "snippets/s.py:3"},
     'the check of claim "One is one." ran over no configurations on x; its check ends at snippets/s.py:3'),
    ("claim_false_on",
     {"sentence": "One is one.", "failed": 1, "count": 4, "last_line": "snippets/s.py:3", "listed": "    k=2"},
     'claim is false on 1 of 4 configurations on x: "One is one."\n  its check ends at snippets/s.py:3; the first '
     "it failed on:\n    k=2"),
    ("claim_false", {"sentence": "One is one.", "last_line": "snippets/s.py:3", "output": "evidence"},
     'claim is false on x: "One is one."\n  its check ends at snippets/s.py:3\nevidence'),
    ("backends_missing", {"parts": "two needs jax", "hint": "install them with `make backends`"},
     "the section runs on backends that are not installed (two needs jax); install them with `make backends`. "
     "Reading the site does not need them: frozen outputs serve every page whose sections are unchanged"),
    ("inline_raised", {"expression": "x.size", "text": "NameError: x"}, "`{py} x.size` raised NameError: x"),
    ("inline_threads", {"count": 1, "names": "Thread-1"},
     "the inline value left 1 thread(s) running (Thread-1); an inline value must not start threads"),
    ("inline_too_big", {"kb": 5000, "limit_kb": 200},
     "the inline value is 5000 kB, over the limit of 200 kB; show less, or raise the page's limit with "
     "<!-- docexec output-limit=KB -->"),
    ("out_of_memory", {"where": "snippets/s.py:3", "limit": "300"},
     "the section ran out of memory at snippets/s.py:3 on x: the page's memory limit is 300 MB (set another with "
     "<!-- docexec memory=MB -->)"),
    ("file_too_large", {"where": "snippets/s.py:3", "limit": 1},
     "the section wrote a file over the page's limit of 1 MB a file at snippets/s.py:3 on x (File too large; set "
     "another with <!-- docexec file-size=MB -->)"),
    ("worker_died", {"who": "the two backend's worker", "error": "was killed by SIGKILL while running", "hint": ""},
     "the two backend's worker was killed by SIGKILL while running"),
    ("worker_start", {"who": "the two backend's worker", "error": "importing its libraries failed: ImportError",
                      "hint": "; install them with `make backends`"},
     "the two backend's worker could not start: importing its libraries failed: ImportError; install them with "
     "`make backends`"),
    ("refused", {"who": "the worker", "reason": "it uses 330 MB before the page runs"},
     "the worker refused a request: it uses 330 MB before the page runs"),
    ("engine_bug", {"who": "the worker", "type": "KeyError", "error": "'x'"}, "the worker: KeyError: 'x'"),
]


@pytest.mark.parametrize("kind, fields, text", TEMPLATES, ids=[kind for kind, _, _ in TEMPLATES])
def test_a_failure_of_the_run_reads_as_its_template_says(kind, fields, text):
    failure = PageFailed(kind, None, " on x", **fields)
    assert (failure.kind, failure.reason) == (kind, text)


# A failure raised directly (reading a page, a snippet file, a record, the environment): how to
# make it, and what it says; {root} is the project's root, and "…" stands for text another
# module words (a JSON parser's message, the comparison's tolerance and diff).

KNOWN = ("one", "two")
MODULE = "# --8<-- [start:a]\na = True\n# --8<-- [end:a]\n# --8<-- [start:e]\n\n# --8<-- [end:e]\n"
CLAIM = '```python exec claim="{}"\n--8<-- "snippets/s.py:a"\n```'


def parsed(*lines):
    return lambda project: parse_page("\n".join(lines).split("\n"), project.root)


def options(text):
    return lambda project: BlockOptions.parse(text, KNOWN)


def sections(text):
    return lambda project: parse_sections(text, "s.py")


def section_of(path, name):
    return lambda project: load_section(project.root, path, name)


def include(line):
    return lambda project: parse_include(line)


def environment(name, value):
    def trigger(project):
        os.environ[name] = value  # the project fixture unset both; monkeypatch restores them
        freeze.mode_from_environment()
    return trigger


def value_page(project):
    return parse_page(["Value `{py} 1 + 1`."], project.root)


def record(results, key="k", modules=None):
    return Record("p.md", key, {}, results, modules or {})


def checked(project):
    """frozen/p.json read as a check build reads it (made in auto mode, which starts no workers)."""
    cache = PageCache(project.root, project.root / "docs", project.root / "frozen", "auto", 10)
    cache.mode = "check"
    cache.load("p.md", value_page(project))


def store(project, text):
    (project.root / "frozen").mkdir(exist_ok=True)
    (project.root / "frozen" / "p.json").write_text(text)
    checked(project)


def edited(project):
    Store(project.root / "frozen").save("p.md", record([ValueRecord("1 + 1", "2")]))
    file = project.root / "frozen" / "p.json"
    store(project, file.read_text().replace('"2"', '"3"'))


def unreadable(project):
    (project.root / "frozen" / "p.json").mkdir(parents=True)
    checked(project)


def unwritable(project):
    (project.root / "frozen" / "p.json").mkdir(parents=True)
    Store(project.root / "frozen").save("p.md", record([]))


def orphan(project):
    (project.root / "frozen").mkdir()
    (project.root / "frozen" / "gone.json").write_text("{}")
    PageCache(project.root, project.root / "docs", project.root / "frozen", "check", 10)


def compared(stored, fresh):
    def trigger(project):
        cache = PageCache(project.root, project.root / "docs", project.root / "frozen", "auto", 10)
        cache.compare("p.md", value_page(project), stored, fresh)
    return trigger


def not_utf8(project):
    (project.root / "snippets" / "bad.py").write_bytes(b"# --8<-- [start:x]\nprint('caf\xe9')\n# --8<-- [end:x]\n")
    load_section(project.root, "snippets/bad.py", "x")


def figure_without_alt(project):
    block = parse_page(['```python exec', '--8<-- "snippets/s.py:a"', '```'], project.root).blocks[0]
    output_html(BlockResult([], None, None, [["<svg/>"]]), block)



TWO = ValueRecord("1 + 1", "2")
FROZEN = "docexec: docs/p.md: its frozen outputs cannot be used: {root}/frozen/p.json "
RUN = ". Run `make outputs` and commit the file."
NAME_RULE = "a section name uses only ASCII letters, digits, '_', '.' and '-'"
DIRECT = [
    ("bad_mode", environment("DOCEXEC_MODE", "sometimes"),
     "docexec: DOCEXEC_MODE='sometimes' is not a mode; use one of auto, check, refresh"),
    ("bad_ci", environment("CI", "on"),
     "docexec: CI='on' is neither true (1, true, yes) nor false (0, false, no, or unset)"),
    ("unknown_option", options('color="red"'),
     "docexec: unknown option 'color'; allowed: alt, backends, claim, hidden, raises"),
    ("written", options("claim"), """docexec: option 'claim' is written claim="..." """.strip()),
    ("written", options('hidden="yes"'), "docexec: option 'hidden' is written hidden"),
    ("claim_options", options('hidden claim="It holds."'), "docexec: a claim block cannot also be hidden or raise"),
    ("no_backend", options('backends=""'), 'docexec: backends="" names no backend; name one or more of: one, two'),
    ("unknown_backend", options('backends="three"'),
     """docexec: unknown backend 'three' in backends="three"; allowed: one, two"""),
    ("backend_twice", options('backends="one one"'), 'docexec: a backend is named twice in backends="one one"'),
    ("stray_include", parsed("Prose.", '--8<-- "snippets/s.py:a"'),
     """docexec: page line 2: an include line outside a `python exec` fence ('--8<-- "snippets/s.py:a"'): """
     "pymdownx.snippets would show what it names without running it; a page shows a section through a fence: "
     '```python exec, then --8<-- "snippets/module.py:section", then ```. To show the syntax, escape it: ;--8<--'),
    ("fence_unclosed", parsed("```text", "x"), "docexec: a code fence ``` is never closed"),
    ("inline_form", parsed("Prose `{py}` here."),
     "docexec: page line 1:7: an inline value is written `{py} EXPRESSION` (a space, then the expression, in one "
     "code span); got '`{py}` here.'"),
    ("exec_fence_unclosed", parsed("```python exec", '--8<-- "snippets/s.py:a"'),
     "docexec: page line 1: the `python exec` fence is never closed"),
    ("block_lines", parsed("```python exec", '--8<-- "snippets/s.py:a"', "print(2)", "```"),
     'docexec: page line 1: a `python exec` block holds exactly one include line (--8<-- '
     '"snippets/module.py:section"); found 2 lines'),
    ("claim_no_id", parsed(CLAIM.format("!!!")),
     "docexec: page line 1: the claim '!!!' has no letters or digits to make its id from"),
    ("claim_twice", parsed(CLAIM.format("Same words."), CLAIM.format("Same words.")),
     "docexec: page line 4: the claim 'Same words.' is already made at page line 1; each claim on a page needs "
     "its own sentence"),
    ("claim_twice", parsed(CLAIM.format("Same, words!"), CLAIM.format("same words")),
     "docexec: page line 4: the claim 'same words' gets the id 'claim-same-words', as the claim 'Same, words!' at "
     "page line 1; each claim on a page needs its own sentence"),
    ("unknown_directive", parsed("<!-- docexec speed=9 -->"),
     "docexec: page line 1: unknown docexec directive 'speed=9'; use timeout=SECONDS, output-limit=KB, memory=MB, "
     "processes=N, file-size=MB or claims-index"),
    ("directive_value", parsed("<!-- docexec timeout=soon -->"),
     "docexec: page line 1: timeout must be a number of seconds between 0 and 86400, got 'soon'"),
    ("section_name", sections("# --8<-- [start:my section]\nx = 1\n"),
     f"docexec: s.py:1: section marker with the name 'my section': {NAME_RULE}"),
    ("section_nested", sections("# --8<-- [start:a]\n# --8<-- [start:b]\n"),
     "docexec: s.py:2: section 'b' starts inside section 'a' (opened at line 1); sections cannot nest"),
    ("section_twice", sections("# --8<-- [start:a]\n# --8<-- [end:a]\n# --8<-- [start:a]\n"),
     "docexec: s.py:3: section 'a' is defined twice in s.py"),
    ("end_unstarted", sections("# --8<-- [end:a]\n"), "docexec: s.py:1: section 'a' ends but was never started"),
    ("end_other", sections("# --8<-- [start:a]\n# --8<-- [end:b]\n"),
     "docexec: s.py:2: end of 'b' while section 'a' (line 1) is open"),
    ("section_unclosed", sections("# --8<-- [start:a]\nx = 1\n"), "docexec: s.py:1: section 'a' is never closed"),
    ("outside", section_of("../outside.py", "a"),
     "docexec: '../outside.py': snippet paths are relative to the project root and stay inside it"),
    ("no_file", section_of("snippets/none.py", "a"),
     "docexec: 'snippets/none.py': no such snippet file (looked in {root})"),
    ("no_section", section_of("snippets/s.py", "zz"),
     "docexec: snippets/s.py: the file has no section 'zz'; its sections are: a, e"),
    ("section_empty", section_of("snippets/s.py", "e"), "docexec: snippets/s.py:6, section 'e': the section is empty"),
    ("not_utf8", not_utf8,
     "docexec: snippets/bad.py is not UTF-8: byte 0xe9 at offset 29 (line 2); save it as UTF-8"),
    ("include_form", include("print(1)"),
     """docexec: expected an include line like '--8<-- "snippets/module.py:section"', got 'print(1)'"""),
    ("include_outside", include('--8<-- "docs/notes.md:a"'),
     "docexec: the include 'docs/notes.md:a' names docs/notes.md; a page includes sections of snippets/*.py only "
     "(the project's modules, which its tests import)"),
    ("include_no_section", include('--8<-- "snippets/s.py"'),
     "docexec: the include 'snippets/s.py' names no section; a page runs one section of a file: "
     """'--8<-- "snippets/module.py:section"'"""),
    ("include_name", include('--8<-- "snippets/s.py:my section"'),
     f"docexec: the include 'snippets/s.py:my section' names the section 'my section'; {NAME_RULE}"),
    ("record_count", lambda project: pair_results(value_page(project), record([])),
     "docexec: the page has 1 executable items but its record holds 0 results"),
    ("record", lambda project: pair_results(value_page(project), record([ValueRecord("2 + 2", "4")])),
     "docexec: page line 1:7: the record's result for this value is of '2 + 2'"),
    ("no_alt", figure_without_alt,
     """docexec: page line 1 (snippets/s.py:2, section 'a'): the block draws a figure but has no alt text; """
     """add alt="..." to its fence"""),
    ("no_claims", lambda project: project.render("<!-- docexec claims-index -->\n", page="claims.md"),
     "docexec: docs/claims.md: the claims index found no claims in any page"),
    ("page_unknown", lambda project: project.markdown(page="").convert("Value `{py} 1`.\n"),
     "docexec: docs/(unknown page): cannot tell which file under {root}/docs this page is (no file has exactly "
     "this text); add docexec/hook.py to mkdocs.yml's hooks, or pass the option `page`"),
    ("frozen_unwritable", unwritable, "docexec: cannot write {root}/frozen/p.json: Is a directory"),
    ("unreadable", unreadable, FROZEN + "is not a file that can be read (Is a directory)" + RUN),
    ("frozen_not_json", lambda project: store(project, "{"), FROZEN + "is not valid JSON (…)" + RUN),
    ("frozen_shape", lambda project: store(project, "[1, 2, 3]"), FROZEN + "holds a list, not a record" + RUN),
    ("hand_edited", edited, FROZEN + "was edited by hand: its content does not match its checksum" + RUN),
    ("frozen_orphan", orphan,
     "docexec: frozen/gone.json is the record of docs/gone.md, which does not exist; delete it (git rm) with the page"),
    ("frozen_missing", compared(None, record([TWO])),
     "docexec: docs/p.md: the page has no frozen outputs in frozen/p.json; run `make outputs` and commit them"),
    ("frozen_differs", compared(record([TWO]), record([ValueRecord("1 + 1", "3")])),
     "docexec: docs/p.md:1:7: the output differs from the frozen one in frozen/p.json: '2' (frozen) vs '3' "
     "(executed now)\n(compared as: …)\n--- frozen\n…\nIf the change is intended, run `make outputs`, re-read the "
     "prose around it, and commit."),
    ("frozen_stale", compared(record([TWO]), record([TWO], key="other")),
     "docexec: docs/p.md: frozen/p.json was not made from the current page: its key differs (the page's code or a "
     "library version changed since). Run `make outputs` and commit frozen/p.json."),
    ("frozen_modules",
     compared(record([TWO], modules={"snippets/s.py": "1"}), record([TWO], modules={"snippets/s.py": "2"})),
     "docexec: docs/p.md: frozen/p.json was not made from the current project modules: this run loaded "
     "snippets/s.py with other source, or the frozen run did not load them (or loaded them and this one did not). "
     "Run `make outputs` and commit frozen/p.json."),
]


@pytest.mark.parametrize("kind, trigger, text", DIRECT, ids=[kind for kind, _, _ in DIRECT])
def test_a_failure_raised_directly_reads_as_written_here(project, monkeypatch, kind, trigger, text):
    project.write("snippets/s.py", MODULE)
    monkeypatch.setenv("CI", "")  # for monkeypatch to restore what `environment` sets
    monkeypatch.setenv("DOCEXEC_MODE", "")
    with pytest.raises(DocexecError) as error:
        trigger(project)
    assert error.value.kind == kind, str(error.value)
    pattern = ".*".join(re.escape(part) for part in text.replace("{root}", str(project.root)).split("…"))
    assert re.fullmatch(pattern, str(error.value), re.S), str(error.value)


def kinds_raised() -> tuple[set[str], list[str]]:
    """The kinds docexec/ raises, read from its source: the literal kind of every PageFailed, DocexecError,
    SectionError and FrozenFileError it makes; and where one is made without a kind (or with one that is
    neither a string nor passed on from the failure it replaces)."""
    kinds, missing = set(), []
    for file in sorted((REPO / "docexec").glob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            name = getattr(getattr(node, "func", None), "id", None)
            if not isinstance(node, ast.Call) or name not in ("PageFailed", "DocexecError", "SectionError",
                                                               "FrozenFileError"):
                continue
            position = 0 if name == "PageFailed" else 1
            kind = node.args[position] if len(node.args) > position else None
            if isinstance(kind, ast.Constant) and isinstance(kind.value, str) and kind.value:
                kinds.add(kind.value)
            elif not (isinstance(kind, ast.Attribute) and kind.attr == "kind"):
                missing.append(f"{file.name}:{node.lineno}")
    return kinds, missing


def test_every_failure_the_engine_raises_has_a_kind_whose_wording_is_checked_here():
    kinds, missing = kinds_raised()
    assert not missing, f"made without a kind at {', '.join(missing)}"
    assert {kind for kind, _, _ in TEMPLATES} == set(PageFailed.TEMPLATES)
    assert kinds == set(PageFailed.TEMPLATES) | {kind for kind, _, _ in DIRECT}
