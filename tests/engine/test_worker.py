"""Issue 10's reproductions, one test each: a section that exits, hangs, kills its process,
leaves threads or subprocesses, changes directory, monkeypatches builtins or sys.modules,
prints memory addresses, control characters or megabytes, or imports code from outside the
project. Each either fails the build naming the page, the snippet file:line and what
happened, or completes without affecting any other page; nothing is left running.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from docexec.cache import PageCache
from docexec.pool import POOL
from helpers import REPO, fails, gone, render_page, section


def workers_of(root: Path) -> list[psutil.Process]:
    """Live processes started for `root`: workers (their cwd) and anything they started."""
    found = []
    for process in psutil.process_iter(["cmdline", "cwd", "status"]):
        try:
            if process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if process.info["cwd"] == str(root) and process.pid != os.getpid():
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@pytest.fixture(autouse=True)
def no_stray_process(project):
    yield
    assert not POOL.live, "a worker outlived its page"
    deadline = time.monotonic() + 5
    while workers_of(project.root) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not workers_of(project.root), "a process started by the page is still running"


# ----------------------------------------------------------------------------- exits and signals


@pytest.mark.parametrize(
    "body, kind, what",
    [
        ("import sys\nsys.exit(0)", "exited", r"SystemExit\(0\) .*snippets/s.py:4"),
        ("raise SystemExit(3)", "exited", r"SystemExit\(3\) .*snippets/s.py:3"),
        ("raise SystemExit", "exited", r"SystemExit\(None\) .*snippets/s.py:3"),
        ("raise KeyboardInterrupt", "exited", r"KeyboardInterrupt .*snippets/s.py:3"),
        ("class Boom(BaseException):\n    pass\nraise Boom('out')", "exited", r"Boom: out .*snippets/s.py:5"),
        # what the worker's death says comes from the pool (WorkerFailed), not a template
        ("import os\nos._exit(0)", "worker_died", r"the worker exited with status 0 while running this section"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "worker_died", r"the worker was killed by SIGKILL"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGTERM)", "worker_died", r"the worker was killed by SIGTERM"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGINT)", "exited", r"KeyboardInterrupt .*snippets/s.py:4"),
    ],
    ids=["sys.exit(0)", "SystemExit(3)", "raise SystemExit", "KeyboardInterrupt", "BaseException",
         "os._exit(0)", "SIGKILL", "SIGTERM", "SIGINT"],
)
def test_a_section_that_exits_or_is_killed_fails_the_build_naming_page_and_line(project, body, kind, what):
    project.write("snippets/s.py", "# leading line\n" + section("x", body))
    with fails(kind, "docs/p.md:1 (snippets/s.py:3, section 'x')", match=what):
        project.render(project.fence("x"))


def test_a_worker_that_cannot_answer_says_why(project):
    """Probes 54, 56: a worker whose answer could not be sent (its descriptors closed, or out of
    memory or stack while answering) exited with status 0, which said nothing."""
    project.write("snippets/s.py", section("x", "import os\nos.closerange(3, 1024)"))
    with fails("worker_died", match=r"could not send its answer (.|\n)*Bad file descriptor"):
        project.render(project.fence("x"))


def test_an_inline_value_that_exits_fails_naming_the_page(project):
    exited = "the worker exited with status 0 while evaluating this inline value"  # what WorkerFailed said
    with fails("worker_died", "docs/p.md:1:6", match=exited):
        project.render('Text `{py} __import__("os")._exit(0)`.\n')


def test_a_real_build_fails_on_sys_exit_and_leaves_nothing_behind(project):
    """`mkdocs build` used to exit 0 with an empty site/; now it exits 1 naming the page."""
    project.write("mkdocs.yml", "site_name: t\nmarkdown_extensions:\n  - pymdownx.superfences\n  - docexec\n")
    project.write("snippets/s.py", section("x", "import sys\nsys.exit(0)"))
    project.write("docs/index.md", project.fence("x"))
    before = {p: p.stat().st_mtime_ns for p in project.root.rglob("*") if p.is_file()}
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=project.root, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": f"{project.root}{os.pathsep}{REPO}", "NO_MKDOCS_2_WARNING": "1"}, timeout=120,
    )
    assert build.returncode == 1, build.stdout + build.stderr
    assert "docs/index.md:1 (snippets/s.py:2, section 'x'): raised SystemExit(0) at snippets/s.py:3" in build.stderr
    after = {p: p.stat().st_mtime_ns for p in project.root.rglob("*") if p.is_file() and "site" not in p.parts}
    assert after == {p: t for p, t in before.items()}, "a file outside site/ changed"
    assert not workers_of(project.root)  # the build's atexit killed its spare worker


# ----------------------------------------------------------------------------- hangs


@pytest.mark.parametrize(
    "body, line",
    [
        ("import time\ntime.sleep(10_000)", "4"),
        ("import re\nre.match(r'(a+)+$', 'a' * 60 + 'b')", "4"),
        ("import time\nwhile True:\n    try:\n        time.sleep(0.01)\n    except BaseException:\n        pass",
         "[4-8]"),
        # probe 57: a section that ignores SIGUSR1 is still located (the worker's timer writes its stack)
        ("import signal, time\nsignal.signal(signal.SIGUSR1, signal.SIG_IGN)\ntime.sleep(10_000)", "5"),
    ],
    ids=["sleep in C", "catastrophic regex", "except BaseException loop", "SIGUSR1 ignored"],
)
def test_a_hung_section_is_stopped_at_the_page_limit_naming_where_it_was(project, body, line):
    project.write("snippets/s.py", "# leading line\n" + section("x", body))
    start = time.monotonic()
    with fails("timeout", match=rf" 1 s .* snippets/s.py:{line}$"):
        project.render("<!-- docexec timeout=1 -->\n\n" + project.fence("x"))
    assert time.monotonic() - start < 8


# ----------------------------------------------------------------------------- threads, subprocesses


def test_a_thread_left_running_fails_the_block_that_started_it(project):
    project.write("snippets/s.py", section("daemon", """
        import threading, time
        def chatter():
            while True:
                print("from the thread")
                time.sleep(0.01)
        threading.Thread(target=chatter, daemon=True, name="chatter").start()
    """) + section("after", "print('second block')"))
    with fails("threads_left", match=r"section 'daemon'\): .*\(chatter\)"):
        project.render(project.fence("daemon") + project.fence("after"))


def test_a_joined_thread_is_fine(project):
    project.write("snippets/s.py", section("x", """
        import threading
        thread = threading.Thread(target=print, args=("in a thread",))
        thread.start()
        thread.join()
    """))
    assert "in a thread" in project.render(project.fence("x"))


def test_a_non_daemon_thread_does_not_keep_the_build_alive(project):
    project.write("snippets/s.py", section("x", """
        import threading, time
        threading.Thread(target=time.sleep, args=(30,), name="sleeper").start()
    """))
    start = time.monotonic()
    with fails("threads_left", match=r"\(sleeper\)"):
        project.render(project.fence("x"))
    assert time.monotonic() - start < 8


@pytest.mark.parametrize("new_session", [False, True], ids=["same group", "own session"])
def test_subprocesses_a_section_starts_are_killed_after_the_page(project, new_session):
    project.write("snippets/s.py", section("x", f"""
        import subprocess
        child = subprocess.Popen(["sleep", "300"], start_new_session={new_session})
        open("child.pid", "w").write(str(child.pid))
    """))
    project.render(project.fence("x"))
    pid = int((project.root / "child.pid").read_text())
    assert gone(pid), "the section's `sleep 300` is still running"


# ----------------------------------------------------------------------------- state that must not leak


def test_chdir_monkeypatched_print_and_sys_modules_do_not_reach_the_next_page(project):
    project.write("snippets/s.py", section("poison", """
        import builtins, os, sys
        os.chdir("/")
        builtins.print = lambda *a, **k: None
        sys.modules["numpy"] = None
        sys.modules["snippets.helper"] = None
    """) + section("clean", """
        import os
        import numpy as np
        from snippets.helper import NAME
        print(NAME, os.getcwd() == ROOT, np.arange(3))
    """))
    project.write("snippets/helper.py", "NAME = 'helper'\n")
    PageCache.memory.clear()
    render_page(project, "a.md", project.fence("poison"), mode="refresh")
    page = project.fence("root", "hidden", module="snippets/r.py") + project.fence("clean")
    html = render_page(project, "b.md", page, mode="refresh")
    assert "helper True [0 1 2]" in html
    stored = json.loads((project.root / "frozen" / "b.json").read_text())
    assert stored["results"][1]["output"] == ["helper True [0 1 2]"]


@pytest.fixture(autouse=True)
def root_section(project):
    project.write("snippets/r.py", section("root", f"ROOT = {str(project.root)!r}"))


# ----------------------------------------------------------------------------- determinism


def test_numpy_is_seeded_at_every_page_start_without_an_earlier_import(project):
    import numpy

    project.write("snippets/s.py", section("x", "import numpy as np\nprint(np.random.rand())"))
    expected = str(numpy.random.RandomState(0).rand())
    assert expected in project.render(project.fence("x"))


def test_workers_hash_strings_with_a_fixed_seed(project):
    project.write("snippets/s.py", section("x", "import os\nprint(os.environ['PYTHONHASHSEED'], hash('padding'))"))
    expected = subprocess.run([sys.executable, "-c", "print(hash('padding'))"], capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": "0"}).stdout.strip()
    assert f"0 {expected}" in project.render(project.fence("x"))


@pytest.mark.parametrize(
    "body, printed_by",
    [
        ("x = object()\nprint('made', x)", r"printed by snippets/s.py:4"),
        ("def f():\n    pass\nf", r"the final expression at snippets/s.py:5"),
    ],
    ids=["print", "final expression"],
)
def test_an_output_with_a_memory_address_is_an_error_naming_the_line(project, body, printed_by):
    project.write("snippets/s.py", "# leading line\n" + section("x", body))
    with fails("address", match=printed_by):
        project.render(project.fence("x"))


def test_a_final_plot_call_shows_no_address(project):
    project.write("snippets/s.py", section("x", """
        import matplotlib.pyplot as plt
        figure, axes = plt.subplots()
        axes.plot([0, 1], [1, 0])
    """))
    html = project.render(project.fence("x", 'alt="A line."'))
    assert "Line2D" not in html and "<img" in html


# ----------------------------------------------------------------------------- output hygiene


def test_control_bidi_and_surrogate_characters_are_escaped_visibly(project):
    project.write("snippets/s.py", section("x", r"""
        print("esc[\x1b[31m] nul[\x00] bel[\x07] c1[\x9b] rtl[\u202e] lone[\udc80]")
    """))
    html = project.render(project.fence("x"))
    assert r"esc[\x1b[31m] nul[\x00] bel[\x07] c1[\x9b] rtl[\u202e] lone[\udc80]" in html
    stored = (project.root / "frozen" / "p.json").read_text(encoding="utf-8")
    escaped = r"esc[\x1b[31m] nul[\x00] bel[\x07] c1[\x9b] rtl[\u202e] lone[\udc80]"
    assert json.loads(stored)["results"][0]["output"] == [escaped]


def test_an_output_over_the_limit_fails_naming_the_block_and_the_limit_is_per_page(project):
    project.write("snippets/s.py", section("x", "print('x' * 300_000)"))
    with fails("too_much_output", match=r"^docexec: docs/p.md:1 \(.*\): .* 300 kB .* 200 kB"):
        project.render(project.fence("x"))
    assert not (project.root / "frozen" / "p.json").exists()
    html = project.render("<!-- docexec output-limit=400 -->\n\n" + project.fence("x"))
    assert "x" * 1000 in html


def test_a_ten_megabyte_print_is_refused_without_being_stored(project):
    project.write("snippets/s.py", section("x", "for _ in range(100):\n    print('y' * 100_000)"))
    with fails("too_much_output"):
        project.render(project.fence("x"))


# ----------------------------------------------------------------------------- what the key covers


def test_a_dynamically_imported_module_is_in_the_freeze_key(project):
    project.write("snippets/dynamic.py", "VALUE = 'first'\n")
    project.write("snippets/s.py", section("x", """
        import importlib
        name = "dyn" + "amic"
        print(importlib.import_module("snippets." + name).VALUE)
    """))
    assert "first" in project.render(project.fence("x"))
    record = json.loads((project.root / "frozen" / "p.json").read_text())
    assert "snippets/dynamic.py" in record["modules"]
    project.write("snippets/dynamic.py", "VALUE = 'second'\n")
    assert "second" in project.render(project.fence("x"))  # auto mode: the stale output is not reused


def test_a_module_saved_while_its_page_runs_is_not_recorded_as_current(project):
    """Probe 30: the record holds the hash of the source the worker loaded, not of the file when
    the answer arrived, so a save during the run makes the next auto build run the page again."""
    project.write("snippets/helper.py", 'WORD = "one"\n')
    project.write("snippets/s.py", section("x", """
        from pathlib import Path
        from snippets.helper import WORD
        Path("snippets/helper.py").write_text('WORD = "two"\\n')  # the writer saves while the page runs
        print("word:", WORD)
    """))
    assert "word: one" in project.render(project.fence("x"))
    assert "word: two" in project.render(project.fence("x"))


def test_a_data_file_the_page_reads_is_an_input(project):
    """Probe 31: a file the run opened under the project root is listed in the record, hashed as
    read, and editing it re-executes the page in auto mode (a file it only wrote is not)."""
    project.write("data/table.txt", "first table\n")
    project.write("snippets/s.py", section("x", """
        with open("data/table.txt") as table:
            print("read:", table.read())
        with open("written.txt", "w") as out:
            out.write("not an input")
    """))
    assert "read: first table" in project.render(project.fence("x"))
    record = json.loads((project.root / "frozen" / "p.json").read_text())
    assert "data/table.txt" in record["modules"] and "written.txt" not in record["modules"]
    project.write("data/table.txt", "second table\n")
    assert "read: second table" in project.render(project.fence("x"))


def test_a_project_module_outside_snippets_is_an_input(project):
    """Probe 32: any module under the project root, not only the `snippets` package."""
    project.write("lib/__init__.py", "")
    project.write("lib/extra.py", 'NAME = "one"\n')
    project.write("snippets/s.py", section("x", 'from lib.extra import NAME\nprint("name:", NAME)'))
    assert "name: one" in project.render(project.fence("x"))
    record = json.loads((project.root / "frozen" / "p.json").read_text())
    assert {"lib/__init__.py", "lib/extra.py"} <= set(record["modules"])
    project.write("lib/extra.py", 'NAME = "two"\n')
    assert "name: two" in project.render(project.fence("x"))


def test_a_module_linked_from_outside_the_project_is_an_input_like_any_other(project, tmp_path_factory):
    """No longer refused (a guard against deliberate cheating, out of the threat model): what it
    ran is hashed as read, under the name the page imported it by."""
    outside = tmp_path_factory.mktemp("elsewhere") / "linked.py"
    outside.write_text('WORD = "one"\n')
    (project.root / "snippets" / "linked.py").symlink_to(outside)
    project.write("snippets/s.py", section("x", 'from snippets.linked import WORD\nprint("word:", WORD)'))
    assert "word: one" in project.render(project.fence("x"))
    outside.write_text('WORD = "two"\n')
    assert "word: two" in project.render(project.fence("x"))


# ----------------------------------------------------------------------------- without a fork server


@pytest.mark.parametrize(
    "body, kind, what",
    [
        ("import sys\nsys.exit(0)", "exited", r"SystemExit\(0\) .*snippets/s.py:3"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "worker_died", r"the worker was killed by SIGKILL"),
        ("import time\ntime.sleep(10_000)", "timeout", r" snippets/s.py:3$"),
        ("print('spawned')", None, None),
    ],
    ids=["sys.exit(0)", "SIGKILL", "sleep in C", "completes"],
)
def test_workers_spawned_without_a_fork_server_are_judged_the_same(project, monkeypatch, body, kind, what):
    """DOCEXEC_FORK=0 (and macOS, where fork() after importing TensorFlow is unsafe)."""
    monkeypatch.setenv("DOCEXEC_FORK", "0")
    project.write("snippets/s.py", section("x", body))
    page = "<!-- docexec timeout=1 -->\n\n" + project.fence("x")
    if kind is None:
        assert "spawned" in project.render(page)
        return
    with fails(kind, match=what):
        project.render(page)
