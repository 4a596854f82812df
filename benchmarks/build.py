"""How much the build engine costs, measured in one run on a copy of the project.

Prints: cold build (nothing frozen); warm build (nothing changed) and a plain MkDocs build of
the same pages with execution off, taken in turns; a build after one prose edit, a build after
one section edit; the bare run of every page's sections (one process a backend); and how long
a prose edit and a section edit take to show under `mkdocs serve --dirty` (as `make serve`
runs it).
Targets: warm <= 1.1 x plain, cold <= 1.2 x bare, serve: prose edit <= 1 s, section edit <= 2 s.

    .venv/bin/python benchmarks/build.py
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from docexec.config import base_path, derived_config, load_mkdocs_config

REPO = Path(__file__).resolve().parents[1]
# The extensions too, hooks/ (mkdocs.yml names its serve hook by path) and data/ (files the sections read)
COPIED = ("mkdocs.yml", "docs", "snippets", "data", "frozen", "overrides", "docexec", "maths", "hooks")
# The local default whatever the caller's environment (DOCEXEC_MODE overrides CI): reuse frozen/, so a
# run under CI measures what a writer waits for.
ENV = {**os.environ, "DOCEXEC_MODE": "auto"}


def copy_project(into: Path) -> Path:
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, into / name)
        elif source.exists():
            shutil.copy(source, into / name)
    return into


def build(project: Path, config: str = "mkdocs.yml", strict: bool = True) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", *(["--strict"] if strict else []),
         "-f", config, "-d", str(project / "site")],
        cwd=project, env=ENV, capture_output=True, text=True,
    )
    elapsed = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"build failed:\n{done.stdout}\n{done.stderr}")
    return elapsed


def plain_config(project: Path) -> str:
    """The same pages without docexec: each `python exec` fence becomes a plain `python` fence
    whose include line pymdownx.snippets fills with the section; nothing runs, no output shows.
    Built without --strict: with nothing executed, claim anchors and `{py}` values are missing."""
    plain_docs = project / "plain-docs"
    shutil.copytree(project / "docs", plain_docs)
    for page in plain_docs.rglob("*.md"):
        page.write_text(re.sub(r"(?m)^(\s*`{3,})python exec\b.*$", r"\1python", page.read_text()))
    extensions = load_mkdocs_config(project)["markdown_extensions"]
    derived_config(project, project, "plain.yml", strict=False, docs_dir="plain-docs",
                   markdown_extensions=[entry for entry in extensions if entry != "docexec"])
    return "plain.yml"


def bare_run(project: Path) -> float:
    """Every page's sections executed as plain scripts would run them, by the engine's own plan:
    the default worker's items in one process, then each backend's in a process of its own
    (started with that backend's environment), one after another; the sum of their times."""
    from docexec.backends import BACKENDS, DEFAULT

    return sum(bare_run_on(project, backend.name, backend.environment) for backend in (DEFAULT, *BACKENDS.values()))


def bare_run_on(project: Path, backend: str, environment: dict) -> float:
    script = f"""
import sys, time
start = time.perf_counter()
sys.path.insert(0, {str(project)!r})
from pathlib import Path
from docexec.backends import BACKENDS, plan
from docexec.model import Block
from docexec.page import parse_page, strip_front_matter
root = Path({str(project)!r})
for page in sorted((root / "docs").rglob("*.md")):
    parsed = parse_page(strip_front_matter(page.read_text()).split("\\n"), root)
    namespace = {{"__name__": "__bare__"}}
    for _, item in plan(parsed, BACKENDS).get({backend!r}, []):
        if isinstance(item, Block):
            section = item.section
            code = compile("\\n" * (section.first_line - 1) + section.code, str(root / section.path), "exec")
            try:
                exec(code, namespace)
            except Exception:
                if item.options.raises is None:
                    raise
        else:
            eval(item.expression, namespace)
    import matplotlib.pyplot as plt; plt.close("all")
"""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script], cwd=project, env={**ENV, **environment},
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"bare run on backend {backend} failed:\n{done.stderr}")
    return time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# What `make serve` runs (Makefile): a dirty rebuild, widened by hooks/serve.py to every page
# whose sections, modules or frozen record changed, and to the claims index.
SERVE = ("serve", "--dirty")
EDITS = 5  # edits of each kind; the median is reported (the file watcher polls every 0.5 s)


def serve_edits(project: Path) -> tuple[list[float], list[float]]:
    """Seconds from saving an edit to the served page showing it, for EDITS prose edits of the
    demo page and EDITS edits of a section it runs (which re-executes the page); and after
    them, the claims index still lists the demo page's claim, with its link."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", *SERVE, "-a", f"127.0.0.1:{port}"],
        cwd=project, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}{base_path(load_mkdocs_config(project)).rstrip('/')}"
        wait_for(f"{base}/demo/", "How pages are executed", 120)
        page, module = project / "docs" / "demo.md", project / "snippets" / "demo.py"
        prose, section = [], []
        for _ in range(EDITS):
            time.sleep(0.6)  # edits land at different points of the watcher's polling cycle
            marker = f"Edited at {time.time_ns()}."
            start = time.perf_counter()
            page.write_text(page.read_text() + f"\n{marker}\n")
            wait_for(f"{base}/demo/", marker, 60)
            prose.append(time.perf_counter() - start)
        original = module.read_text()
        for _ in range(EDITS):
            time.sleep(0.6)
            marker = f"section edit {time.time_ns()}"
            start = time.perf_counter()
            module.write_text(original.replace('print("', f'print("{marker}; ', 1))
            wait_for(f"{base}/demo/", marker, 60)
            section.append(time.perf_counter() - start)
        wait_for(f"{base}/claims/", 'href="../demo/#', 60)
        return prose, section
    finally:
        server.terminate()
        server.wait(10)


def wait_for(url: str, text: str, limit: float) -> None:
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        try:
            if text in urllib.request.urlopen(url, timeout=5).read().decode():
                return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit(f"{url} did not show {text!r} within {limit} s")


def rounded(times: list[float]) -> str:
    return ", ".join(f"{seconds:.2f}" for seconds in times)


def best_of_each(times: int, first, second) -> tuple[float, float]:
    """The least of several timings of each (noise on a shared machine only ever adds time),
    the two taken in turns."""
    pairs = [(first(), second()) for _ in range(times)]
    return min(one for one, _ in pairs), min(other for _, other in pairs)


def step(label: str, action):
    print(f"  {label:<50}", end="", flush=True)
    seconds = action()
    print(f"{seconds:7.2f} s", flush=True)
    return seconds


def step_pair(first: str, second: str, action) -> tuple[float, float]:
    print(f"  {first:<50}", end="", flush=True)
    one, other = action()
    print(f"{one:7.2f} s\n  {second:<50}{other:7.2f} s", flush=True)
    return one, other


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        project = copy_project(Path(folder))
        print(f"benchmarking a copy of the project in {project} ({os.cpu_count()} cores)")
        shutil.rmtree(project / "frozen", ignore_errors=True)
        cold = step("cold build (nothing frozen)", lambda: build(project))
        plain_yml = plain_config(project)
        # Taken in turns, so a slower stretch of a shared machine slows both alike.
        warm, plain = step_pair("warm build (nothing changed), best of 5",
                                "plain MkDocs build, execution off, best of 5",
                                lambda: best_of_each(5, lambda: build(project),
                                                     lambda: build(project, plain_yml, strict=False)))
        demo = project / "docs" / "demo.md"
        demo.write_text(demo.read_text() + "\nOne more sentence of prose.\n")
        prose = step("build after a prose edit", lambda: build(project))
        module = project / "snippets" / "demo.py"
        module.write_text(module.read_text().replace("x = np.arange(12", "x = np.arange(0, 12", 1))
        section = step("build after a section edit (demo page)", lambda: build(project))
        bare = step("bare run of all sections, one process a backend", lambda: bare_run(project))
        print(f"  {'serve --dirty: prose edits, then section edits':<50}", end="", flush=True)
        prose_edits, section_edits = serve_edits(project)
        serve_prose, serve_section = statistics.median(prose_edits), statistics.median(section_edits)
        print(f"{serve_prose:7.2f} s, {serve_section:.2f} s (medians of {EDITS})", flush=True)
    print()
    print(f"warm / plain = {warm / plain:.2f}  (target <= 1.10)")
    print(f"cold / bare  = {cold / bare:.2f}  (target <= 1.20)")
    print(f"serve prose edit = {serve_prose:.2f} s  (target <= 1 s; each: {rounded(prose_edits)})")
    print(f"serve section edit = {serve_section:.2f} s  (target <= 2 s; each: {rounded(section_edits)})")
    print(f"prose edit / warm = {prose / warm:.2f}; section edit / warm = {section / warm:.2f}")


if __name__ == "__main__":
    main()
