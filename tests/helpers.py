"""What more than one test module needs: the repository's root, running a snippets module section by
section as its page does, the floating-point rounding bound the numeric tests compare with, and
writing a snippet section or a page in a throwaway project, waiting for a process to end and
expecting a failure of one kind (the engine's tests).

Importable as `helpers` (pyproject.toml puts tests/ on pytest's `pythonpath`); fixtures are in conftest.py.
"""

from __future__ import annotations

import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import psutil
import pytest

REPO = Path(__file__).resolve().parents[1]

# Unit round-off: the largest relative error of one rounding, half the machine epsilon.
U32 = np.finfo(np.float32).eps / 2
U64 = np.finfo(np.float64).eps / 2


def gamma(n: int, u: float) -> float:
    """Higham's gamma_n = n*u / (1 - n*u): a floating-point sum of n products, in any order of
    additions, is within gamma_n times the sum of the |products| of the exact value (Accuracy
    and Stability of Numerical Algorithms, eq. 3.5)."""
    return n * u / (1 - n * u)


def run_sections(module: str, grids: bool = True, into: dict | None = None) -> tuple[dict, dict]:
    """Run every section of `module` (a path such as "snippets/demo.py") in file order in one
    namespace, with docexec's own parser and runner, as a page that includes them all would.

    For modules that cannot simply be imported because a section raises on purpose. Returns the
    namespace's globals and {section name: result}; a section that raises is recorded in its
    result's `raised`, not re-raised, so the caller asserts which ones may.

    grids=False leaves out each section's closing `over(...)` call: the check build ran those
    claims once and stored their outcomes (`stored_outputs`), so the tests need not run them again.
    `into`: the globals to run in (a module's __dict__), instead of a fresh dict.
    """
    # Imported here so that modules needing only gamma() do not depend on the engine's layout.
    from docexec.namespace import Namespace
    from docexec.sections import parse_sections

    namespace = Namespace(REPO, "snippets")
    if into is not None:
        into.setdefault("__builtins__", __builtins__)
        namespace.globals = into
    sections = parse_sections((REPO / module).read_text(encoding="utf-8"), module)
    results = {name: namespace.run(section.code if grids else _without_closing_over(section.code), module,
                                   section.first_line) for name, section in sections.items()}
    return namespace.globals, results


def page_module(name: str):
    """snippets/<name>.py as a module whose sections ran in order, as its page runs them, minus each
    grid claim's closing `over(...)` (`run_sections(grids=False)`): the check build ran those once.
    A section that raises is an AssertionError naming it."""
    import types

    module = types.ModuleType(f"snippets.{name}")
    module.__file__ = str(REPO / "snippets" / f"{name}.py")
    _, results = run_sections(f"snippets/{name}.py", grids=False, into=module.__dict__)
    raised = {section: repr(result.raised) for section, result in results.items() if result.raised is not None}
    assert not raised, f"snippets/{name}.py: sections raised {raised}"
    return module


def _without_closing_over(code: str) -> str:
    import ast

    body = ast.parse(code).body
    last = body[-1] if body else None
    if (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
            and getattr(last.value.func, "id", None) == "over"):
        return "\n".join(code.splitlines()[:last.lineno - 1])
    return code


def section(name: str, body: str) -> str:
    """A named snippet section, as the pages include them."""
    return f"# --8<-- [start:{name}]\n{textwrap.dedent(body).strip()}\n# --8<-- [end:{name}]\n"


def render_page(project, page: str, text: str, mode: str = "auto") -> str:
    """Convert docs/<page> of a throwaway project as MkDocs does, keeping PageCache.memory (pages of one build)."""
    text = textwrap.dedent(text).lstrip("\n")
    project.write(f"docs/{page}", text)
    return project.markdown(page, mode).convert(text)


def gone(pid: int, within: float = 5.0) -> bool:
    """Whether process `pid` has ended (or is a zombie) within `within` seconds; a process that
    ends between two looks counts as ended, not as an error."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def stored_outputs(page: str) -> tuple[dict, dict]:
    """What the build stored for docs/<page> in frozen/: {section name: {backend: result dict}}
    (the backend "default" for a block without `backends=`) and {`{py}` expression: its printed values}.

    Read it only after the `built_site` fixture: under CI=true that build executed the page afresh
    and failed on any difference from frozen/, and a local build re-executes a page whose code
    changed. So the tests assert on what the one build ran, instead of running the page again.
    """
    import json

    record = json.loads((REPO / "frozen" / page).with_suffix(".json").read_text(encoding="utf-8"))
    blocks, values = {}, {}
    for item in record["results"]:
        if "expression" in item:
            values.setdefault(item["expression"], []).append(item["value"])
        else:
            section = item["source"].rsplit(":", 1)[1]
            blocks[section] = item["backends"] if "backends" in item else {"default": item}
    return blocks, values


def stored_claim(page: str, section: str) -> str:
    """What the build stored as the outcome of the claim in `section` of docs/<page> (a block without
    `backends=`): e.g. "True on 555 configurations (...)"."""
    blocks, _ = stored_outputs(page)
    return blocks[section]["default"]["value"][0]


def definitions(module: str):
    """The functions, classes and constants of snippets/<module>.py without running its page: its set-up
    sections (named `setup` or `*_setup`) whole, and from every other section only its imports, its `def`s and
    `class`es and the assignments that call nothing (outside a lambda). What the page printed, drew and
    claimed is the check build's (`stored_outputs`); a test calls these functions on cases of its own."""
    import ast
    import types

    from docexec.sections import parse_sections

    path = f"snippets/{module}.py"
    text = (REPO / path).read_text(encoding="utf-8")

    def calls(node) -> bool:
        if isinstance(node, ast.Lambda):
            return False
        return isinstance(node, ast.Call) or any(calls(child) for child in ast.iter_child_nodes(node))

    kept = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    body = []
    for name, section in parse_sections(text, path).items():
        tree = ast.parse("\n" * (section.first_line - 1) + section.code, path)
        setup = name == "setup" or name.endswith("_setup")
        body += [statement for statement in tree.body
                 if setup or isinstance(statement, kept)
                 or (isinstance(statement, ast.Assign) and not calls(statement.value))]
    namespace = types.ModuleType(f"snippets.{module}__definitions")
    namespace.__file__ = str(REPO / path)
    exec(compile(ast.Module(body=body, type_ignores=[]), path, "exec"), namespace.__dict__)
    return namespace


@contextmanager
def fails(kind: str, at: str | None = None, match: str | None = None, error: type | None = None):
    """Expect the engine to fail with the failure `kind` (docexec/errors.py; its wording is checked once, in
    tests/engine/test_errors.py), at the location `at` if given (`str(error.location)`); `match`, for what
    the failure's text says beyond its template (a detail, a line the worker was at)."""
    from docexec.errors import DocexecError

    with pytest.raises(error or DocexecError, match=match) as raised:
        yield raised
    assert raised.value.kind == kind, f"a {raised.value.kind!r} failure, not {kind!r}: {raised.value}"
    if at is not None:
        assert str(raised.value.location) == at, str(raised.value)
