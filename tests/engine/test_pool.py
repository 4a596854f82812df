"""The worker pool (docexec/pool.py): each page's worker runs in a process group of its own
that is killed, with everything it started, after the page or when the build is killed; and
the page's memory, process and file-size limits and its private TMPDIR hold. Black-box
(issue 18's reproductions): each builds a throwaway project."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from docexec.pool import POOL
from helpers import REPO, fails, gone, section


@pytest.fixture(autouse=True)
def no_worker_left(project):
    yield
    assert not POOL.live, "a worker outlived its page"


def wait_for(file: Path, within: float = 60.0) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if file.is_file() and file.read_text().strip():
            return file.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{file} never appeared")


DOUBLE_FORK = """
    import os
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", "303"])
        os._exit(0)
    os.waitpid(pid, 0)
"""


def test_a_re_parented_grandchild_is_killed_after_the_page(project):
    project.write("snippets/s.py", section("x", textwrap.dedent(DOUBLE_FORK) + textwrap.dedent("""
        import time
        for _ in range(100):
            found = [p for p in os.listdir("/proc") if p.isdigit()
                     and open(f"/proc/{p}/cmdline", "rb").read() == b"sleep\\x00303\\x00"]
            if found:
                break
            time.sleep(0.02)
        open("grandchild.pid", "w").write(found[0])
    """)))
    project.render(project.fence("x"))
    pid = int((project.root / "grandchild.pid").read_text())
    assert gone(pid), "the re-parented `sleep 303` outlived its page"


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=["SIGTERM", "SIGINT", "SIGKILL"])
def test_a_build_that_is_killed_leaves_no_process_behind(project, how):
    project.write("mkdocs.yml", "site_name: t\nmarkdown_extensions:\n  - pymdownx.superfences\n  - docexec\n")
    project.write("snippets/s.py", section("x", """
        import subprocess, time
        child = subprocess.Popen(["sleep", "302"])
        open("child.pid", "w").write(str(child.pid))
        open("worker.pid", "w").write(str(__import__("os").getpid()))
        time.sleep(60)
    """))
    project.write("docs/index.md", project.fence("x"))
    build = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=project.root,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": f"{project.root}{os.pathsep}{REPO}", "NO_MKDOCS_2_WARNING": "1"},
    )
    try:
        child = int(wait_for(project.root / "child.pid"))
        worker = int(wait_for(project.root / "worker.pid"))
        build.send_signal(how)
        build.wait(30)
        assert gone(child), f"the section's `sleep 302` outlived a build killed by {how.name}"
        assert gone(worker), f"the page's worker outlived a build killed by {how.name}"
    finally:
        build.kill()
        build.wait()


def test_a_section_over_the_memory_limit_fails_naming_the_block(project):
    project.write("snippets/s.py", "# leading line\n" + section("x", """
        big = bytearray(600 * 1024 * 1024)
        big[::4096] = b"x" * len(big[::4096])
    """))
    with fails("out_of_memory", "docs/p.md:3 (snippets/s.py:3, section 'x')", match=r" snippets/s.py:3\b.* 300 MB"):
        project.render("<!-- docexec memory=300 -->\n\n" + project.fence("x"))
    project.render("<!-- docexec memory=2000 -->\n\n" + project.fence("x"))  # within a larger limit


def test_the_default_memory_limit_stops_a_three_gigabyte_allocation(project):
    project.write("snippets/s.py", section("x", "big = bytearray(3 * 1024**3)"))
    with fails("out_of_memory"):
        project.render(project.fence("x"))


def test_a_section_over_the_process_limit_fails_naming_the_block(project):
    project.write("snippets/s.py", section("x", """
        import subprocess, time
        children = [subprocess.Popen(["sleep", "30"]) for _ in range(12)]
        time.sleep(5)
    """))
    over = r"more than the page's limit of 8 processes"  # what WorkerFailed said
    start = time.monotonic()
    with fails("worker_died", "docs/p.md:3 (snippets/s.py:2, section 'x')", match=over):
        project.render("<!-- docexec processes=8 -->\n\n" + project.fence("x"))
    assert time.monotonic() - start < 5


def test_a_few_subprocesses_are_within_the_default_process_limit(project):
    project.write("snippets/s.py", section("x", """
        import subprocess
        print(sum(subprocess.run(["true"]).returncode for _ in range(20)))
    """))
    assert "0" in project.render(project.fence("x"))


def test_a_workers_death_reads_only_the_end_of_its_log():
    """Probe 53: a worker that wrote 600 MB to fd 2 before dying made the build read it all."""
    import io

    from docexec import pool

    class Log(io.BytesIO):
        sizes: list = []

        def read(self, size=-1):
            self.sizes.append(size)
            return super().read(size)

    log = Log(b"x" * 3_000_000 + b"\nthe last line\n")
    assert pool._tail(log).endswith("the last line")
    assert all(0 <= size <= 20_000 for size in Log.sizes)


def test_a_page_writes_its_temporary_files_in_a_folder_of_its_own_removed_after_it(project):
    """Probe 52: 300 MB written to /tmp outlived the build; and a file over the page's size
    limit (RLIMIT_FSIZE) fails the block."""
    import re
    import tempfile

    project.write("snippets/s.py", section("x", """
        import tempfile
        with tempfile.NamedTemporaryFile(delete=False) as kept:
            kept.write(b"kept")
        print("folder:", tempfile.gettempdir())
    """) + section("big", """
        with open("big.bin", "wb") as big:
            big.write(bytes(2 * 1024 * 1024))
    """))
    html = project.render(project.fence("x"))
    folder = re.search(r"folder: (\S+)<", html)[1]
    assert folder != tempfile.gettempdir() and not Path(folder).exists()
    with fails("file_too_large", match=r"section 'big'\): .* 1 MB .* snippets/s.py:9\b"):
        project.render("<!-- docexec file-size=1 -->\n\n" + project.fence("big"))


@pytest.mark.backends  # its worker imports Keras on TensorFlow
def test_a_memory_limit_below_what_the_worker_already_uses_says_so(project):
    """Probe 61: memory=64 made `print` fail with an ImportError blamed on the section. The
    smallest limit is now 256 MB, and a worker whose libraries (Keras: about 330 MB) already
    use more than the page's limit says so."""
    project.write("snippets/s.py", section("x", 'print("hello")') + section("k", 'import keras\nprint("hello")'))
    assert "hello" in project.render("<!-- docexec memory=256 -->\n\n" + project.fence("x"))
    with fails("directive_value", match=r": memory .*'64'$"):
        project.render("<!-- docexec memory=64 -->\n\n" + project.fence("x"))
    with fails("worker_start", match=r"uses \d+ MB before the page runs .* 256 MB"):  # what the worker said
        project.render("<!-- docexec memory=256 -->\n\n" + project.fence("k"))
