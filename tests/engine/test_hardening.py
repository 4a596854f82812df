"""Issue 18's reproductions, one test each (the second round of hardened execution): nothing a
section starts outlives its page or the build, workers have memory and process limits, the
whole frozen record is checksummed, low-level threads and `{py}` values are checked like
blocks. Black-box: each builds a throwaway project and asserts what the build does."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from docexec import DocexecError
from docexec.cache import PageCache
from docexec.pool import POOL
from helpers import REPO, render_page, section


def gone(pid: int, within: float = 5.0) -> bool:
    """Whether process `pid` has ended (or is a zombie) within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def wait_for(file: Path, within: float = 60.0) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if file.is_file() and file.read_text().strip():
            return file.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{file} never appeared")


@pytest.fixture(autouse=True)
def no_worker_left(project):
    yield
    assert not POOL.live, "a worker outlived its page"


# ----------------------------------------------------------------------------- processes that outlive the build


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


def test_a_stopped_fork_server_blames_the_page_that_stopped_it_quickly(project):
    project.write("snippets/s.py", section("stop", """
        import os, signal
        os.kill(os.getppid(), signal.SIGSTOP)
    """) + section("fine", "print('page two ran')"))
    PageCache.memory.clear()
    start = time.monotonic()
    stopped = r"docs/a.md:1 \(snippets/s.py:2, section 'stop'\): .*stopped its fork server"
    with pytest.raises(DocexecError, match=stopped):
        render_page(project, "a.md", project.fence("stop"))
    assert time.monotonic() - start < 15
    assert "page two ran" in render_page(project, "b.md", project.fence("fine"))
    assert time.monotonic() - start < 30


# ----------------------------------------------------------------------------- resource limits


def test_a_section_over_the_memory_limit_fails_naming_the_block(project):
    project.write("snippets/s.py", "# leading line\n" + section("x", """
        big = bytearray(600 * 1024 * 1024)
        big[::4096] = b"x" * len(big[::4096])
    """))
    over = (r"docs/p.md:3 \(snippets/s.py:3, section 'x'\): the section ran out of memory at snippets/s.py:3: "
            r"the page's memory limit is 300 MB")
    with pytest.raises(DocexecError, match=over):
        project.render("<!-- docexec memory=300 -->\n\n" + project.fence("x"))
    project.render("<!-- docexec memory=2000 -->\n\n" + project.fence("x"))  # within a larger limit


def test_the_default_memory_limit_stops_a_three_gigabyte_allocation(project):
    project.write("snippets/s.py", section("x", "big = bytearray(3 * 1024**3)"))
    with pytest.raises(DocexecError, match=r"ran out of memory .* memory limit is \d+ MB"):
        project.render(project.fence("x"))


def test_a_section_over_the_process_limit_fails_naming_the_block(project):
    project.write("snippets/s.py", section("x", """
        import subprocess, time
        children = [subprocess.Popen(["sleep", "30"]) for _ in range(12)]
        time.sleep(5)
    """))
    over = r"docs/p.md:3 \(snippets/s.py:2, section 'x'\): .*more than the page's limit of 8 processes"
    start = time.monotonic()
    with pytest.raises(DocexecError, match=over):
        project.render("<!-- docexec processes=8 -->\n\n" + project.fence("x"))
    assert time.monotonic() - start < 5


def test_a_few_subprocesses_are_within_the_default_process_limit(project):
    project.write("snippets/s.py", section("x", """
        import subprocess
        print(sum(subprocess.run(["true"]).returncode for _ in range(20)))
    """))
    assert "0" in project.render(project.fence("x"))


@pytest.mark.parametrize(
    "directive, message",
    [
        ("timeout=inf", r"timeout must be a number of seconds between 0 and 86400, got 'inf'"),
        ("timeout=1e9", r"timeout must be a number of seconds between 0 and 86400, got '1e9'"),
        ("timeout=-1", r"timeout must be a number of seconds between 0 and 86400, got '-1'"),
        ("timeout=nan", r"timeout must be a number of seconds between 0 and 86400, got 'nan'"),
        ("memory=0", r"memory must be a number of MB between 64 and 1048576, got '0'"),
        ("memory=lots", r"memory must be a number of MB between 64 and 1048576, got 'lots'"),
        ("processes=0", r"processes must be a whole number between 1 and 4096, got '0'"),
        ("processes=2.5", r"processes must be a whole number between 1 and 4096, got '2.5'"),
    ],
)
def test_limits_outside_a_sane_range_are_refused_clearly(project, directive, message):
    project.write("snippets/s.py", section("x", "print(1)"))
    with pytest.raises(DocexecError, match=r"docs/p.md:1: " + message):
        project.render(f"<!-- docexec {directive} -->\n\n" + project.fence("x"))


# ----------------------------------------------------------------------------- the frozen record's checksum


@pytest.mark.parametrize(
    "edit",
    [lambda record: record["versions"].update(NumPy="0.0.1-forged"),
     lambda record: record.update(modules={}),
     lambda record: record.update(page="other.md")],
    ids=["versions", "modules", "page"],
)
def test_any_edit_of_a_frozen_record_is_noticed(project, edit):
    project.write("snippets/helper.py", "NAME = 'frozen'\n")
    project.write("snippets/s.py", section("x", "from snippets.helper import NAME\nprint(NAME)"))
    project.render(project.fence("x"))
    file = project.root / "frozen" / "p.json"
    record = json.loads(file.read_text())
    edit(record)
    file.write_text(json.dumps(record, indent=1))
    with pytest.raises(DocexecError, match=r"frozen/p.json was edited by hand"):
        project.render(project.fence("x"), mode="check")


# ----------------------------------------------------------------------------- threads and inline values


def test_a_low_level_thread_left_running_fails_the_block_that_started_it(project):
    project.write("snippets/s.py", section("a", """
        import _thread, time
        _thread.start_new_thread(lambda: (time.sleep(.5), print("X")), ())
    """) + section("b", "time.sleep(1)\nprint('B')"))
    left = r"section 'a'\): the section left 1 thread\(s\) running \(started with _thread\)"
    with pytest.raises(DocexecError, match=left):
        project.render(project.fence("a") + project.fence("b"))


def test_an_inline_value_over_the_output_limit_fails_naming_it(project):
    over = r"docs/p.md:1:6: the inline value is 5000 kB, over the limit of 200 kB"
    with pytest.raises(DocexecError, match=over):
        project.render('Text `{py} "a" * 5_000_000`.\n')


def test_an_inline_value_that_leaves_a_thread_running_fails_naming_it(project):
    left = r"docs/p.md:1:6: the inline value left 1 thread\(s\) running"
    with pytest.raises(DocexecError, match=left):
        project.render('Text `{py} __import__("threading").Timer(30, print).start()`.\n')


# ----------------------------------------------------------------------------- hidden code and claims


def test_a_claims_box_shows_the_hidden_set_up_it_ran_after(project):
    project.write("snippets/s.py", "# leading line\n" + section("rig", """
        import numpy as np
        np.allclose = lambda *a, **k: True
    """) + section("check", "np.allclose(1.0, 2.0)"))
    html = project.render(project.fence("rig", "hidden") + project.fence("check", 'claim="One is close to two."'))
    box = html[html.index('class="docexec-check"'):]
    assert "and the hidden set-up it ran after (1 section)" in box
    assert "snippets/s.py:3-4" in box and "rig" in box
    assert "allclose" in box[box.index("docexec-setup"):] and "lambda" in box[box.index("docexec-setup"):]


def test_a_claim_ending_in_a_look_alike_of_a_numpy_boolean_is_refused(project):
    project.write("snippets/s.py", section("x", """
        class bool_:
            __bool__ = lambda self: True
            __repr__ = lambda self: "True"
        bool_()
    """))
    with pytest.raises(DocexecError, match=r"it ended in bool_"):
        project.render(project.fence("x", 'claim="A look-alike is true."'))


def test_a_numpy_boolean_is_a_claims_truth(project):
    project.write("snippets/s.py", section("x", "import numpy as np\nnp.bool_(True)"))
    assert "Verified" in project.render(project.fence("x", 'claim="NumPy says so."'))


FORGE = """
    import sys
    from docexec.protocol import BlockAnswer, Truth
    frame = sys._getframe()
    while frame is not None and "session" not in frame.f_locals:
        frame = frame.f_back
    session, nonce = frame.f_locals["session"], frame.f_locals.get("nonce")
    # the strongest forgery: this request's own nonce, a block answer and a true verdict
    session.send(BlockAnswer(value="True"), nonce)
    session.send(Truth(True, None, "bool"), nonce)
    2 + 2 == 5
"""


@pytest.mark.parametrize("mode", ["auto", "refresh"])
def test_a_section_that_forges_its_claims_truth_on_the_result_channel_is_caught(project, mode):
    project.write("snippets/s.py", section("x", FORGE))
    page = project.fence("x", 'claim="Two plus two is five."')
    with pytest.raises(DocexecError, match=r"section 'x'\): .*(result channel|claim is false)"):
        project.render(page, mode=mode)


# ----------------------------------------------------------------------------- displayed code that lies


@pytest.mark.parametrize("number", ["0", "999"])
def test_stash_token_characters_in_a_section_are_shown_as_they_are(project, number):
    tokens = f'text = "\ue000{number}\ue001"\nlen(text)'
    project.write("snippets/s.py", section("claim", "1 == 1") + section("x", tokens))
    html = project.render(project.fence("claim", 'claim="One is one."') + project.fence("x"))
    assert html.count("One is one.") == 1
    assert f"\ue000{number}\ue001" in html


# ----------------------------------------------------------------------------- errors that name the wrong place


@pytest.mark.parametrize(
    "body, line",
    [('exec("y = 1/0")', 3), ('import importlib\nimportlib.import_module("snippets.missing")', 4)],
    ids=["exec", "import_module"],
)
def test_an_error_in_a_pseudo_file_is_located_at_the_sections_own_line(project, body, line):
    project.write("snippets/s.py", "# leading line\n" + section("x", body))
    with pytest.raises(DocexecError, match=rf"failed at snippets/s.py:{line}\n"):
        project.render(project.fence("x"))


def test_a_snippet_that_is_not_utf8_is_named_with_the_byte_offset(project):
    (project.root / "snippets" / "s.py").write_bytes(b"# --8<-- [start:x]\nprint('caf\xe9')\n# --8<-- [end:x]\n")
    with pytest.raises(DocexecError, match=r"snippets/s.py is not UTF-8: byte 0xe9 at offset 29"):
        project.render(project.fence("x"))


def test_pages_with_the_same_text_are_told_apart_by_path(project):
    project.write("mkdocs.yml", "site_name: t\nmarkdown_extensions:\n  - pymdownx.superfences\n  - docexec\n")
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
