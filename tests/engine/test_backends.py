"""Blocks that run once per backend (`backends="tf-eigen tf-onednn jax torch"`): each backend's
worker gets its environment before Keras is imported, its outputs are shown in one tab each
and frozen per backend, and a failure on one backend (an exception, a false claim, a killed
or hung worker, a backend that is not installed) names the backend, the page and the line.

Most tests use fake backends (the environment variable FAKE, no Keras) so that they are fast;
one runs the four real ones.
"""

from __future__ import annotations

import json
import os

import pytest

from docexec import pool
from docexec.backends import BACKENDS, Backend, library_versions
from docexec.pool import POOL
from helpers import fails, section


def tabbed(project, backends, text: str, mode: str = "auto") -> str:
    """Render docs/p.md with content tabs, as the site's mkdocs.yml does, blocks running on `backends`."""
    return project.render(text, mode=mode, backends=backends, extensions=["pymdownx.tabbed"],
                          extension_configs={"pymdownx.tabbed": {"alternate_style": True}})


@pytest.fixture
def fake():
    """Two backends that differ only by FAKE=one / FAKE=two, and import nothing heavy."""
    backends = {
        name: Backend(name, f"Fake {name} {{NumPy}}", {"FAKE": name}, {"NumPy": ("numpy",)}, (), f"Fake {name}")
        for name in ("one", "two")
    }
    yield backends
    assert not POOL.live, "a worker outlived its page"


FAKE_SOURCE = section("setup", """
    import os
    NAME = os.environ["FAKE"]
""") + section("show", """
    print("running on", NAME)
""") + section("fails-on-two", """
    if NAME == "two":
        raise ValueError("only two refuses")
    print("fine on", NAME)
""") + section("killed-on-two", """
    import os, signal
    if NAME == "two":
        os.kill(os.getpid(), signal.SIGKILL)
""") + section("hangs-on-two", """
    import time
    while NAME == "two":
        time.sleep(0.01)
""") + section("claim", """
    NAME == "one"
""") + section("grid-claim", """
    from docexec.checks import grid, over
    over(grid(size=(1, 2, 3), mode=("a", "b")), lambda size, mode: size < 3 or NAME == "one")
""") + section("default", """
    import os
    print("default sees FAKE =", os.environ.get("FAKE"))
""")


def fence(name: str, options: str = 'backends="one two"') -> str:
    return f'```python exec {options}\n--8<-- "snippets/s.py:{name}"\n```\n\n'


def test_each_backend_runs_its_blocks_in_its_own_environment_and_shows_a_tab(project, fake):
    project.write("snippets/s.py", FAKE_SOURCE)
    page = fence("setup", 'hidden backends="one two"') + fence("show") + fence("default", "") + "Value `{py} 6 * 7`.\n"
    html = tabbed(project, fake, page)
    assert "running on one" in html and "running on two" in html
    assert "default sees FAKE = None" in html  # blocks without backends= run in the build's environment
    assert "<span class=\"docexec-value\">42</span>" in html  # `{py}` values run in the default worker
    assert html.count('class="tabbed-set') == 1 and "Fake one" in html and "Fake two" in html
    record = json.loads((project.root / "frozen" / "p.json").read_text())
    shown = record["results"][1]
    assert set(shown) == {"source", "backends"} and shown["backends"]["two"]["output"] == ["running on two"]
    assert set(record["backends"]) == {"one", "two"} and "NumPy" in record["backends"]["one"]


def test_a_block_that_prints_nothing_on_any_backend_shows_its_code_without_tabs(project, fake):
    project.write("snippets/s.py", FAKE_SOURCE)
    html = tabbed(project, fake, fence("setup") + fence("show"))
    assert html.count('class="tabbed-set') == 1  # the printing block only
    assert "No output." not in html and "environ" in html


def test_an_exception_on_one_backend_names_that_backend_page_and_line(project, fake):
    project.write("snippets/s.py", FAKE_SOURCE)
    with fails("code_failed", "docs/p.md:5 (snippets/s.py:9, section 'fails-on-two')") as error:
        tabbed(project, fake, fence("setup", 'hidden backends="one two"') + fence("fails-on-two"))
    message = str(error.value)
    assert " snippets/s.py:10 on backend two " in message
    assert "ValueError: only two refuses" in message and "Traceback" in message


def test_a_killed_backend_worker_is_named(project, fake):
    project.write("snippets/s.py", FAKE_SOURCE)
    killed = r"section 'killed-on-two'\): the two backend's worker was killed by SIGKILL"
    with fails("worker_died", match=killed):
        tabbed(project, fake, fence("setup", 'hidden backends="one two"') + fence("killed-on-two"))


def test_a_hung_backend_worker_is_stopped_at_the_page_limit_and_named(project, fake):
    project.write("snippets/s.py", FAKE_SOURCE)
    page = "<!-- docexec timeout=1 -->\n\n" + fence("setup", 'hidden backends="one two"') + fence("hangs-on-two")
    stopped = r" 1 s on backend two \(Fake two .*\) .* at snippets/s.py:2[01]$"
    with fails("timeout", match=stopped):
        tabbed(project, fake, page)


def test_a_grid_claim_says_what_it_ran_on_and_fails_naming_backend_and_configurations(project, fake):
    project.write("snippets/s.py", FAKE_SOURCE)
    setup = fence("setup", 'hidden backends="one two"')
    html = tabbed(project, fake, setup + fence("grid-claim", 'backends="one" claim="Sizes are fine."'))
    assert "Verified on 6 configurations</span>" in html and "over 6 configurations (size 1–3; mode a, b)" in html
    false = r' 2 of 6 configurations on backend two \(Fake two .*\)(.|\n)*size=3, mode=a'
    with fails("claim_false_on", match=false):
        tabbed(project, fake, setup + fence("grid-claim", 'backends="one two" claim="Sizes are fine."'))


def test_a_claim_is_checked_on_every_backend(project, fake):
    project.write("snippets/s.py", FAKE_SOURCE)
    setup = fence("setup", 'hidden backends="one two"')
    html = tabbed(project, fake, setup + fence("claim", 'backends="one" claim="The name is one."'))
    assert "Verified" in html and "<code>True on Fake one</code>" in html
    with fails("claim_false", match=r' on backend two \(Fake two .*\): "The name is one."'):
        tabbed(project, fake, setup + fence("claim", 'backends="one two" claim="The name is one."'))


def test_a_missing_backend_says_how_to_install_it_and_frozen_outputs_still_serve(project, fake, monkeypatch):
    project.write("snippets/s.py", FAKE_SOURCE)
    page = fence("setup", 'hidden backends="one two"') + fence("show")
    assert "running on two" in tabbed(project, fake, page)
    missing = Backend("two", "Fake two {Fake}", {"FAKE": "two"}, {"Fake": ("no-such-distribution",)}, ())
    monkeypatch.setitem(fake, "two", missing)
    assert "running on two" in tabbed(project, fake, page)  # reading the site: the frozen outputs serve
    with fails("backends_missing", match=r"\(two needs no-such-distribution\); install them with `make backends`"):
        tabbed(project, fake, page, mode="refresh")  # running it: says what to install


def test_a_backend_whose_libraries_fail_to_import_is_a_clear_error(project, fake, monkeypatch):
    project.write("snippets/s.py", FAKE_SOURCE)
    broken = Backend("two", "Fake two {NumPy}", {"FAKE": "two"}, {"NumPy": ("numpy",)}, ("no_such_module_here",))
    monkeypatch.setitem(fake, "two", broken)
    with fails("worker_start", match=r"the two backend's worker .*ModuleNotFoundError: No module named "
                                     r"'no_such_module_here'; install them"):
        tabbed(project, fake, fence("setup", 'hidden backends="one two"') + fence("show"))


@pytest.mark.parametrize("options, kind", [
    ('backends="cuda"', "unknown_backend"),
    ('backends=""', "no_backend"),
    ('backends="one one"', "backend_twice"),
])
def test_backend_names_are_checked_when_the_page_is_read(project, fake, options, kind):
    project.write("snippets/s.py", FAKE_SOURCE)
    with fails(kind, "docs/p.md:1"):
        tabbed(project, fake, fence("show", options))


@pytest.mark.backends
def test_the_real_backends_get_their_environment(project):
    """Slow (imports TensorFlow four times, JAX and PyTorch, in parallel): one test for all six."""
    missing = [name for name, backend in BACKENDS.items() if backend.missing()]
    if missing:
        pytest.skip(f"backends not installed: {missing}; `make backends`")
    project.write("snippets/s.py", section("env", """
        import os
        import keras
        import tensorflow as tf
        print(keras.backend.backend(), os.environ.get("TF_ENABLE_ONEDNN_OPTS"), os.environ.get("JAX_PLATFORMS"),
              os.environ.get("DOCEXEC_XLA"), tf.keras.layers.Dense.__module__.split(".")[0])
    """))
    html = tabbed(project, BACKENDS, fence("env", 'backends="tf-eigen tf-onednn tf-xla jax torch tf-keras2"'))
    inherited = os.environ.get("TF_ENABLE_ONEDNN_OPTS")  # set by `make test-paths`; tf-xla runs on either path
    for shown in ("tensorflow 0 None None keras", "tensorflow 1 None None keras",
                  f"tensorflow {inherited} None 1 keras", f"jax {inherited} cpu None keras",
                  f"torch {inherited} None None keras",
                  f"tensorflow {inherited} None None tf_keras"):  # tf-keras2: tf.keras is Keras 2, keras Keras 3
        assert shown in html
    versions = BACKENDS["jax"].versions()
    assert f"JAX {versions['JAX']}" in html and "PyTorch 2." in html
    assert "· Eigen" in html and "· oneDNN" in html and "· XLA" in html
    assert f"Keras 2 {BACKENDS['tf-keras2'].versions()['Keras 2']}" in html  # the page stamp's versions
    record = json.loads((project.root / "frozen" / "p.json").read_text())
    assert record["backends"]["torch"]["PyTorch"].startswith("2.") and "jaxlib" in record["backends"]["jax"]
    assert record["backends"]["tf-keras2"]["Keras 2"].startswith("2.")
    assert not POOL.live


def test_the_claims_index_says_on_which_backends_a_claim_was_checked(project, fake):
    project.write("snippets/s.py", FAKE_SOURCE)
    project.write("docs/a.md", "# Page A\n\n" + fence("setup", 'hidden backends="one"')
                  + fence("claim", 'backends="one" claim="The name is one."'))
    html = project.render("# All claims\n\n<!-- docexec claims-index -->\n", page="claims.md", backends=fake)
    assert "The name is one." in html and '<span class="docexec-scope">this example on Fake one</span>' in html


def test_a_backend_version_change_reexecutes_and_a_frozen_page_starts_nothing(project, fake, monkeypatch):
    project.write("snippets/s.py", FAKE_SOURCE + section("count", """
        with open("runs.txt", "a") as runs:
            runs.write(NAME + "\\n")
    """))
    page = fence("setup", 'hidden backends="one two"') + fence("count")
    tabbed(project, fake, page)
    started = []
    with monkeypatch.context() as patch:
        patch.setattr(pool.ForkServer, "__init__", lambda self, *a: started.append(a) or (_ for _ in ()).throw(
            AssertionError("a fork server was started for a frozen page")))
        patch.setattr(pool, "Worker", None)  # and no worker either
        tabbed(project, fake, page)  # frozen: nothing runs, no process starts
    assert not started and sorted((project.root / "runs.txt").read_text().split()) == ["one", "two"]  # in parallel
    monkeypatch.setitem(fake, "two", Backend("two", "Fake two {NumPy}", {"FAKE": "two"},
                                             {"NumPy": ("numpy",), "Keras": ("keras",)}, ()))
    tabbed(project, fake, page)  # one backend's library versions changed: the page runs again
    assert sorted((project.root / "runs.txt").read_text().split()) == ["one", "one", "two", "two"]


@pytest.mark.backends  # its worker imports Keras on TensorFlow
def test_the_default_worker_runs_tensorflow_whatever_the_shell_says_and_its_stamp_names_the_kernels(
        project, monkeypatch):
    """Probe 65: a backend chosen in the writer's shell (KERAS_BACKEND=jax, DOCEXEC_XLA=1) does not
    reach the default worker; its kernel path, which the CI matrix sets on purpose, is inherited,
    and the page's stamp names it."""
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setenv("DOCEXEC_XLA", "1")
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    project.write("snippets/s.py", section("x", """
        import os
        import keras
        print("backend:", keras.backend.backend(), os.environ.get("DOCEXEC_XLA"))
    """))
    POOL.shutdown()  # fork servers started with the environment of earlier tests
    try:
        html = project.render(project.fence("x"))
    finally:
        POOL.shutdown()
    assert "backend: tensorflow None" in html
    assert f"TensorFlow {library_versions()['TensorFlow']} (Eigen kernels)" in html
    record = json.loads((project.root / "frozen" / "p.json").read_text())
    assert record["versions"]["TensorFlow kernels"] == "Eigen"
