"""Fixtures shared by the whole suite (plain helpers, such as REPO, are in helpers.py)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import markdown
import pytest

from helpers import REPO, page_module


class SiteBuild:
    """The session's one `mkdocs build --strict`, started in the background as soon as the tests are
    collected (when any of them reads the built site), or before that for the whole suite
    (pytest_sessionstart), so that the tests that do not read it run while it executes the pages;
    those that do run last (pytest_collection_modifyitems) and wait for it."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="built-site-"))
        self.site = self.folder / "site"
        self.log = (self.folder / "build.log").open("w+", encoding="utf-8")
        print("\nbuilding the site once for this test session (mkdocs build --strict), "
              "in the background...", file=sys.stderr)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(self.site)],
            cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT, text=True,
        )

    def wait(self) -> Path:
        returncode = self.process.wait()
        self.log.seek(0)
        assert returncode == 0, f"mkdocs build --strict failed:\n{self.log.read()}"
        return self.site

    def close(self):
        if self.process.poll() is None:  # the session ended early (a -x, a Ctrl-C): stop the build
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


_site_build: list[SiteBuild] = []


def pytest_configure(config):
    """A suite started in the background by a non-interactive shell (`make test &`, a CI step's
    `cmd &`) inherits SIGINT ignored, and so would every worker and build it starts: the tests of
    an interrupted section or build would then see nothing happen. Interrupts work as in a terminal."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_sessionstart(session):
    """The whole suite (pytest given no paths: `make test`, `.ci/run`) reads the built site: its build
    starts now, before the tests are collected (importing them takes a quarter of a minute)."""
    config = session.config
    if (config.args_source == pytest.Config.ArgsSource.TESTPATHS and not os.environ.get("DOCS_SITE_DIR")
            and not config.option.collectonly):
        _site_build.append(SiteBuild())


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected what will not run
def pytest_collection_modifyitems(session, config, items):
    """Tests that read the built site run last, and the build starts now (unless pytest_sessionstart
    started it), in the background. Of those, the ones that wait for the browser threads' page loops
    (tests/browser/conftest.py, `site_visits`) run after the others, which run while those threads
    visit the pages."""
    readers = [item for item in items if "built_site" in getattr(item, "fixturenames", ())]
    if not readers:
        while _site_build:  # started before collection, for tests that were deselected
            _site_build.pop().close()
        return
    readers.sort(key=lambda item: "site_visits" in item.fixturenames)  # stable: file order otherwise
    items[:] = [item for item in items if item not in readers] + readers
    if not os.environ.get("DOCS_SITE_DIR") and not config.option.collectonly and not _site_build:
        _site_build.append(SiteBuild())


def pytest_sessionfinish(session, exitstatus):
    while _site_build:
        _site_build.pop().close()


@pytest.fixture(scope="session")
def built_site() -> Path:
    """The real site, built once per test session with `mkdocs build --strict` (started in the
    background when the tests were collected: `SiteBuild`).

    Under CI=true the build re-executes every page and compares it with frozen/.
    DOCS_SITE_DIR=/path reuses a site that was already built (fast iteration).
    """
    reuse = os.environ.get("DOCS_SITE_DIR")
    if reuse:
        site = Path(reuse).resolve()
        assert (site / "index.html").is_file(), f"DOCS_SITE_DIR={reuse!r} has no index.html"
        return site
    if not _site_build:  # requested by a test the collection did not see (pytester, a plugin)
        _site_build.append(SiteBuild())
    return _site_build[0].wait()


@pytest.fixture(scope="module")
def page(request):
    """The snippets module a page runs, once per test module: tests/pages/test_<name>.py gets
    snippets/<name>.py with its sections run in order, as the page runs them, but without the
    closing `over(...)` of each grid claim (`helpers.run_sections(grids=False)`): the check build
    ran those, and a test reads their outcome with `helpers.stored_outputs` or checks cases of its
    own. (The autouse fixture below closes the figures it draws.)"""
    name = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    if not (REPO / "snippets" / f"{name}.py").is_file():
        pytest.fail(f"the `page` fixture loads snippets/<name>.py for tests/pages/test_<name>.py; "
                    f"{request.module.__file__} names snippets/{name}.py, which does not exist")
    return page_module(name)


class Project:
    """A throwaway project with its own docs/ and `snippets` package, and the way MkDocs
    renders one of its pages (a fresh Markdown instance per page)."""

    EXTENSIONS = ("admonition", "attr_list", "tables", "pymdownx.superfences")

    def __init__(self, root: Path):
        self.root = root

    def write(self, path: str, text: str) -> Path:
        file = self.root / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return file

    def markdown(self, page: str = "p.md", mode: str = "auto", extensions=(), extension_configs=None, **options):
        """A Markdown converter with docexec (given `options`) after EXTENSIONS and `extensions`."""
        from docexec import DocexecExtension

        extension = DocexecExtension(root=str(self.root), page=page, mode=mode, **options)
        return markdown.Markdown(extensions=[*self.EXTENSIONS, *extensions, extension],
                                 extension_configs=extension_configs or {})

    def render(self, text: str, page: str = "p.md", mode: str = "auto", **options) -> str:
        """Write `text` as docs/<page> and convert it, with nothing remembered from earlier renders."""
        from docexec.cache import PageCache

        text = textwrap.dedent(text).lstrip("\n")
        self.write(f"docs/{page}", text)
        PageCache.memory.clear()
        return self.markdown(page, mode, **options).convert(text)

    @staticmethod
    def fence(section: str, options: str = "", module: str = "snippets/s.py") -> str:
        """A `python exec` block including `section` of `module`."""
        return f'```python exec {options}\n--8<-- "{module}:{section}"\n```\n'


@pytest.fixture
def project(tmp_path, monkeypatch) -> Project:
    """An empty project whose `snippets` package is importable instead of the real one."""
    from docexec.cache import PageCache

    (tmp_path / "docs").mkdir()
    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "snippets" or m.startswith("snippets.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(PageCache, "memory", {})
    monkeypatch.delenv("DOCEXEC_MODE", raising=False)
    monkeypatch.delenv("CI", raising=False)
    return Project(tmp_path)


@pytest.fixture(scope="session")
def tensorflow_cpu_path() -> str:
    """Which CPU kernels this process's TensorFlow runs: "onednn" or "eigen".

    TensorFlow turns its oneDNN kernels on by default only on CPUs with AVX512-VNNI,
    AVX512-BF16 or AMX, and TF_ENABLE_ONEDNN_OPTS=1/0 forces them on or off. The answer is
    the runtime switch TensorFlow itself consults (IsMklEnabled), read after the import.
    """
    import tensorflow  # noqa: F401  (the switch is read when TensorFlow loads)
    from tensorflow.python.util import _pywrap_util_port

    return "onednn" if _pywrap_util_port.IsMklEnabled() else "eigen"


@pytest.fixture(autouse=True)
def _close_figures():
    """A snippets test that draws leaves its figures open; close them, so the next test (a
    page rendered in this process) does not collect them as its own."""
    yield
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")
