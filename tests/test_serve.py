"""`mkdocs serve`: an edit to a snippet rebuilds the page; a failing section gives a page that
names the failure (not a request that hangs); the next good save brings the page back; and
stopping the server leaves no worker behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]


def test_the_hook_is_for_the_mkdocs_it_patches(tmp_path):
    """hooks/serve.py reads four private names of MkDocs' live-reload server: a new MkDocs
    fails here, before `make serve` shows a broken page, until the hook is re-read for it."""
    import mkdocs
    from mkdocs.livereload import LiveReloadServer

    serve = load(REPO / "hooks" / "serve.py")
    assert mkdocs.__version__ == serve.MKDOCS_VERSION
    server = LiveReloadServer(builder=lambda: None, host="127.0.0.1", port=0, root=str(tmp_path))
    try:
        with server._epoch_cond:
            assert isinstance(server._visible_epoch, int)
        assert b"livereload" in server._inject_js_into_html(b"<html><body></body></html>", server._visible_epoch)
        assert server.get_app() == server.serve_request
        server.watch(str(tmp_path))
        assert list(server._watched_paths) == [str(tmp_path)]
    finally:
        server.server_close()


def load(path: Path):
    """The module in `path`, loaded afresh (its own state, such as the hook's SESSION)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"{path.stem}_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_for(url: str, text: str, limit: float = 60) -> tuple[int, str]:
    deadline = time.monotonic() + limit
    seen = (0, "")
    while time.monotonic() < deadline:
        try:
            seen = fetch(url)
            if text in seen[1]:
                return seen
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not show {text!r} within {limit} s; last answer: {seen}")


def section(body: str) -> str:
    return f"# --8<-- [start:x]\n{body}\n# --8<-- [end:x]\n"


def test_serve_rebuilds_on_a_snippet_edit_shows_a_failure_and_recovers(tmp_path):
    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets" / "__init__.py").write_text("")
    (tmp_path / "snippets" / "s.py").write_text(section('print("first version")'))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text('# Home\n\n```python exec\n--8<-- "snippets/s.py:x"\n```\n')
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: t\nmarkdown_extensions:\n  - pymdownx.superfences\n  - docexec\n"
        f"watch:\n  - snippets\nhooks:\n  - {REPO / 'hooks' / 'serve.py'}\n"
    )
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "--dev-addr", f"127.0.0.1:{port}"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}", "NO_MKDOCS_2_WARNING": "1",
             "DOCEXEC_MODE": "auto", "CI": ""},
    )
    url = f"http://127.0.0.1:{port}/"
    started: list[psutil.Process] = []
    try:
        wait_for(url, "first version")
        (tmp_path / "snippets" / "s.py").write_text(section('raise ValueError("broken on purpose")'))
        status, page = wait_for(url, "The last rebuild failed")
        assert status == 500
        assert "docs/index.md:3 (snippets/s.py:2, section &#x27;x&#x27;): failed at snippets/s.py:2" in page
        assert "ValueError: broken on purpose" in page and "livereload" in page
        (tmp_path / "snippets" / "s.py").write_text(section('print("second version")'))
        status, _ = wait_for(url, "second version")
        assert status == 200
        started += psutil.Process(server.pid).children(recursive=True)
        assert any("docexec.forkserver" in " ".join(child.cmdline()) for child in started)  # its fork server
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C: MkDocs shuts down, the build's atexit kills its workers
        server.wait(30)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(child) for child in started):
        time.sleep(0.1)
    assert not [child.pid for child in started if _alive(child)], "a process the server started is still running"


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_dirty_serve_re_renders_what_an_edit_changes_and_keeps_the_claims_index(tmp_path):
    """`make serve` runs `mkdocs serve --dirty`: a page is re-rendered when a module or a data
    file its run read changes (not only its own text; a data file in a folder MkDocs does not
    watch too), the claims index whenever any page changes, every page when mkdocs.yml
    changes; pages nothing touched are left alone; and strict mode still fails on a real
    warning, also after a save to another page."""
    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets" / "__init__.py").write_text("")
    (tmp_path / "snippets" / "helper.py").write_text('WORD = "alpha"\n')
    (tmp_path / "snippets" / "a.py").write_text(section(
        'from snippets.helper import WORD\nprint(WORD)\nprint(open("data/word.txt").read())'))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "word.txt").write_text("gamma")  # read by a.py, in no watched folder
    (tmp_path / "snippets" / "b.py").write_text(section("True"))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text('# Home\n\n```python exec\n--8<-- "snippets/a.py:x"\n```\n')
    claim = '# Other\n\n```python exec claim="{}"\n--8<-- "snippets/b.py:x"\n```\n'
    (tmp_path / "docs" / "other.md").write_text(claim.format("First wording."))
    (tmp_path / "docs" / "claims.md").write_text("# Claims\n\n<!-- docexec claims-index -->\n")
    config = (
        "site_name: {}\nstrict: true\nnav:\n  - Home: index.md\n  - Other: other.md\n  - Claims: claims.md\n"
        "markdown_extensions:\n  - tables\n  - attr_list\n  - pymdownx.superfences\n  - docexec\n"
        f"watch:\n  - snippets\nhooks:\n  - {REPO / 'hooks' / 'serve.py'}\n"
    )
    (tmp_path / "mkdocs.yml").write_text(config.format("first name"))
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "--dirty", "--dev-addr", f"127.0.0.1:{port}"],
        cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}", "NO_MKDOCS_2_WARNING": "1",
             "DOCEXEC_MODE": "auto", "CI": ""},
    )
    url = f"http://127.0.0.1:{port}/"

    def rendered(after: int) -> str:
        """The hook's first 'Re-rendering' line in the log after `after` characters."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = (tmp_path / "serve.log").read_text()[after:]
            # Not "Documentation built in 0.05 seconds": MkDocs' DuplicateFilter drops that line
            # when a rebuild takes as long as an earlier one, to the hundredth of a second.
            if "Re-rendering" in text and "Reloading browsers" in text.partition("Re-rendering")[2]:
                return text.partition("Re-rendering")[2].splitlines()[0]
            time.sleep(0.1)
        raise AssertionError(f"no dirty rebuild logged:\n{(tmp_path / 'serve.log').read_text()}")

    try:
        wait_for(url, "alpha")
        wait_for(f"{url}claims/", "First wording.")
        seen = len((tmp_path / "serve.log").read_text())
        (tmp_path / "snippets" / "helper.py").write_text('WORD = "beta"\n')  # imported, never a section
        wait_for(url, "beta")
        assert rendered(seen) == (" 2 of 3 pages: index.md (snippets/helper.py changed); "
                                  "claims.md (snippets/helper.py changed)")
        seen = len((tmp_path / "serve.log").read_text())
        (tmp_path / "data" / "word.txt").write_text("delta")  # probe 31: a data file the run read
        wait_for(url, "delta")
        assert rendered(seen) == " 2 of 3 pages: index.md (data/word.txt changed); claims.md (data/word.txt changed)"
        seen = len((tmp_path / "serve.log").read_text())
        (tmp_path / "docs" / "other.md").write_text(claim.format("Second wording."))
        wait_for(f"{url}claims/", "Second wording.")
        assert rendered(seen) == " 2 of 3 pages: claims.md (docs/other.md changed); other.md (its text changed)"
        seen = len((tmp_path / "serve.log").read_text())
        (tmp_path / "mkdocs.yml").write_text(config.format("second name"))
        for page in ("", "other/", "claims/"):
            wait_for(f"{url}{page}", "second name")
        assert rendered(seen).startswith(" 3 of 3 pages: index.md (mkdocs.yml changed)")
        (tmp_path / "docs" / "index.md").write_text("# Home\n\n[a link to nowhere](missing.md)\n")
        status, page = wait_for(url, "The last rebuild failed")
        assert status == 500 and "missing.md" in page and "strict mode" in page, page[:1500]
        # A save elsewhere re-renders the page whose warning failed the build, which fails again.
        seen = len((tmp_path / "serve.log").read_text())
        (tmp_path / "docs" / "other.md").write_text(claim.format("Third wording."))
        assert "index.md (" in rendered(seen)
        status, page = fetch(url)
        assert status == 500 and "missing.md" in page, page[:1500]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
        log.close()


def test_the_benchmark_measures_the_serve_that_make_serve_runs():
    """benchmarks/build.py times `mkdocs serve` with the arguments it names; `make serve` must
    run those, or the measured writer's loop is not the one writers get."""
    import re

    build = load(REPO / "benchmarks" / "build.py")
    recipe = re.search(r"(?m)^serve:.*\n\t(.*)$", (REPO / "Makefile").read_text())[1]
    assert recipe.split()[1:1 + len(build.SERVE)] == list(build.SERVE), recipe


def test_the_dirty_rebuild_compares_with_the_last_good_build_as_it_began(tmp_path, caplog, monkeypatch):
    """The hook's decisions between builds, driven directly: a save made while a build runs is
    re-rendered by the next build (the snapshot is taken as a build begins); the frozen records
    a build writes do not count as edits; and a failed build (no post-build) is not the baseline,
    so a page added in it still re-renders every page's navigation."""
    import logging

    from mkdocs.config import load_config
    from mkdocs.structure.files import get_files

    (tmp_path / "docs").mkdir()
    for name in ("index", "other"):
        (tmp_path / "docs" / f"{name}.md").write_text(f"# {name}\n")
    (tmp_path / "mkdocs.yml").write_text("site_name: s\nmarkdown_extensions:\n  - docexec\n")
    monkeypatch.chdir(tmp_path)  # docexec's root, as under `mkdocs serve`
    hook = load(REPO / "hooks" / "serve.py")
    hook.SESSION.dirty = True
    caplog.set_level(logging.INFO, logger="mkdocs.hooks.serve")

    def build(between=None, good=True) -> str:
        """One dirty build's decision; `between` runs after the hook read the inputs."""
        caplog.clear()
        config = load_config(str(tmp_path / "mkdocs.yml"))
        files = get_files(config)
        hook.on_files(files, config)
        for file in files.documentation_pages():
            Path(file.abs_dest_path).parent.mkdir(parents=True, exist_ok=True)
            Path(file.abs_dest_path).write_text("<html></html>")
        if between:
            between()
        if good:
            hook.on_post_build(config)
        return " ".join(record.getMessage() for record in caplog.records)

    def touch(path: Path) -> None:
        info = path.stat()
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000))

    build()
    assert build() == "Re-rendering 0 of 2 pages: none"
    build(between=lambda: touch(tmp_path / "docs" / "other.md"))
    assert build() == "Re-rendering 1 of 2 pages: other.md (its text changed)"
    (tmp_path / "frozen").mkdir()
    build(between=lambda: (tmp_path / "frozen" / "index.json").write_text("{}"))  # as the engine would
    assert build() == "Re-rendering 0 of 2 pages: none"
    (tmp_path / "docs" / "new.md").write_text("# new\n")
    assert build(good=False).startswith("Re-rendering 3 of 3 pages: index.md (a page was added or removed)")
    assert build().startswith("Re-rendering 3 of 3 pages: index.md (a page was added or removed)")
    assert build() == "Re-rendering 0 of 3 pages: none"


def test_the_themes_own_files_are_inputs_of_every_page(tmp_path, monkeypatch):
    """Probe 29: an edit of overrides/ (the theme's custom_dir) rebuilt nothing, then only the
    page the next save touched. The project's theme folders are watched by the hook (not
    --watch-theme: Material's own 14,000 files would be polled ten times a second) and each of
    their files is an input of every page."""
    from mkdocs.config import load_config
    from mkdocs.structure.files import get_files

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# index\n")
    (tmp_path / "overrides").mkdir()
    (tmp_path / "overrides" / "main.html").write_text('{% extends "base.html" %}\n')
    (tmp_path / "mkdocs.yml").write_text("site_name: s\ntheme:\n  name: material\n  custom_dir: overrides\n")
    monkeypatch.chdir(tmp_path)
    hook = load(REPO / "hooks" / "serve.py")
    config = load_config(str(tmp_path / "mkdocs.yml"))
    shared = hook.shared_inputs(get_files(config), config, set())
    assert (tmp_path / "overrides" / "main.html").resolve() in shared
    assert hook.theme_folders(config) == [str((tmp_path / "overrides").resolve())]
