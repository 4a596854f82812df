"""docs/backends.md on every backend it names: one subprocess per backend, its
environment set before Keras is imported, runs the page's blocks that name that backend
in page order in one namespace (as the build's workers do), and reports each block's
outcome; the tests assert every claim held, every `raises` block raised exactly that
type, and the per-backend facts the prose states.

Run directly, this file is that worker: `python tests/pages/test_backends.py tf-eigen [page]`
(the page defaults to backends.md; tests/pages/test_appendix.py runs docs/appendix.md with it, and
the backend "default" for the blocks that name none).
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from docexec.backends import BACKENDS, DEFAULT

ROOT = Path(__file__).resolve().parents[2]
PAGE = "backends.md"
# The machineries backends.md runs on (tf-keras2 runs on docs/more-layers.md only)
MACHINERIES = ["tf-eigen", "tf-onednn", "tf-xla", "jax", "torch"]

WORKER_TIMEOUT = 300  # seconds, per backend


def page_blocks(page: str = PAGE) -> list[dict]:
    """The page's `python exec` blocks in order: source, options, code and where it starts."""
    from docexec import page as page_module

    lines = (ROOT / "docs" / page).read_text(encoding="utf-8").split("\n")
    blocks = []
    for item in page_module.parse_page(lines, ROOT).items:
        if isinstance(item, page_module.Block):
            blocks.append({"source": item.source, "line": item.line, "options": item.options,
                           "backends": list(item.options.backends or ()),
                           "code": item.code, "path": item.section.path,
                           "first_line": item.section.first_line})
    return blocks


def run_block(block: dict, namespace: dict) -> dict:
    """Execute one block; its printed output, final value and the exception it raised."""
    tree = ast.parse("\n" * (block["first_line"] - 1) + block["code"], block["path"])
    final = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    outcome = {"source": block["source"], "raised": None, "message": None, "value": None}
    stream = io.StringIO()
    try:
        with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
            exec(compile(tree, block["path"], "exec"), namespace)
            if final is not None:
                value = eval(compile(ast.Expression(final.value), block["path"], "eval"), namespace)
                outcome["value"] = value if type(value).__name__ in ("bool", "bool_") else repr(value)
                outcome["value"] = bool(value) if type(value).__name__ == "bool_" else outcome["value"]
                if type(value).__name__ == "Checked":  # docexec.checks.over(): true on every configuration
                    outcome["value"], outcome["scope"] = bool(value), repr(value)
    except Exception as error:
        outcome["raised"], outcome["message"] = type(error).__name__, str(error)
    outcome["output"] = stream.getvalue()
    return outcome


def runs_on(block: dict, backend: str) -> bool:
    """Whether the block runs in this backend's worker ("default": the blocks naming none)."""
    return backend in block["backends"] or (backend == "default" and not block["backends"])


def worker(backend: str, page: str = PAGE) -> None:
    """Run the page's blocks for one backend; print one JSON report on the last line."""
    namespace = {"__name__": "__docexec__"}
    outcomes = [run_block(block, namespace)
                for block in page_blocks(page) if runs_on(block, backend)]
    # snippets/backends.py's machinery() says which backend and kernel path the page ran on
    facts = {"backend": namespace["machinery"]() if "machinery" in namespace else None}
    if "CASES" in namespace:
        facts["cases"] = namespace["CASES"]
    if "differences" in namespace:
        facts["differences"] = namespace["differences"]
        facts["round_off"] = namespace["ROUND_OFF"]
        # what the table would print for a difference within and beyond the bound
        facts["printed"] = {str(d): namespace["at_most"](d) for d in (2.4e-7, 1e-6, 3e-6, 0.02)}
    if "kernels" in namespace:
        facts["kernels"] = namespace["kernels"]
    if "padded_size" in namespace:  # the default worker: the numbers the prose quotes
        facts["example"] = {name: namespace[name] for name in
                            ("size", "kernel_size", "before", "after", "dx_padding", "padded_size")}
    if "disagreements" in namespace:  # docs/appendix.md: Keras's test reference against its layer
        facts["disagreements"] = namespace["disagreements"]
    if "errors" in namespace:  # docs/more-layers.md: gradient round-off by precision policy
        facts["errors"] = namespace["errors"]
    if "LEGACY" in namespace:  # docs/more-layers.md: which Keras the Keras 2 section ran
        facts["keras"] = {"legacy": namespace["LEGACY"], "version": namespace["version"],
                          "module": namespace["layers"].Conv2D.__module__}
    print(json.dumps({"outcomes": outcomes, "facts": facts}))


def run_workers(page: str, backends: list[str]) -> dict:
    """Each named backend's report on `page`, the workers running side by side; and how long they took."""
    started = time.monotonic()
    workers = {}
    for name in backends:
        backend = DEFAULT if name == "default" else BACKENDS[name]
        env = backend.worker_environment(first_on_path=(str(ROOT),))
        env.pop("KERAS_HOME", None)
        workers[name] = subprocess.Popen(
            [sys.executable, __file__, name, page], cwd=ROOT, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    results = {}
    try:
        for backend, process in workers.items():
            try:
                stdout, stderr = process.communicate(timeout=WORKER_TIMEOUT)
            except subprocess.TimeoutExpired:
                pytest.fail(f"the {backend} worker ran past {WORKER_TIMEOUT} s")
            if process.returncode != 0:
                hint = ("\n(is its backend installed? `pip install '.[backends]'` installs "
                        "jax, jaxlib and torch)" if "ModuleNotFoundError" in stderr else "")
                pytest.fail(f"the {backend} worker failed:\n{stderr[-3000:]}{hint}")
            results[backend] = json.loads(stdout.strip().splitlines()[-1])
    finally:
        for process in workers.values():  # ours only, by handle: none is left running
            if process.poll() is None:
                process.kill()
                process.wait()
    results["seconds"] = time.monotonic() - started
    print(f"\nbackend workers on {page}: {results['seconds']:.1f} s for {len(backends)} backends")
    return results


@pytest.fixture(scope="module")
def reports() -> dict:
    return run_workers(PAGE, [*MACHINERIES, "default"])


def by_source(report: dict) -> dict:
    return {outcome["source"].rsplit(":", 1)[1]: outcome for outcome in report["outcomes"]}


def test_every_block_names_known_backends_and_every_backend_starts_with_the_set_up():
    blocks = page_blocks()
    # Only the numbers the prose quotes and the printed source of Keras's jit_compile rule, the
    # same on every backend, run in the page's default worker.
    assert [block["source"] for block in blocks if not block["backends"]] == [
        "snippets/backends.py:example_padding", "snippets/backends.py:fit_rule"]
    for block in blocks:
        unknown = set(block["backends"]) - set(BACKENDS)
        assert not unknown, (f"docs/{PAGE} line {block['line']}: unknown {sorted(unknown)}; "
                             f"allowed: {sorted(BACKENDS)}")
    assert sorted({name for block in blocks for name in block["backends"]}) == sorted(MACHINERIES)
    for backend in MACHINERIES:
        first = next(block for block in blocks if backend in block["backends"])
        assert first["source"].endswith(":setup") and first["options"].hidden


def assert_claims_hold_and_failures_fail_as_stated(reports: dict, backend: str, page: str = PAGE) -> None:
    outcomes = iter(reports[backend]["outcomes"])
    for block in page_blocks(page):
        if not runs_on(block, backend):
            continue
        outcome = next(outcomes)
        where = f"{backend}, docs/{page} line {block['line']} ({block['source']})"
        expected = block["options"].raises
        assert outcome["raised"] == expected, (
            f"{where}: expected {expected or 'no exception'}, got {outcome['raised']}: {outcome['message']}")
        if block["options"].claim is not None:
            assert outcome["value"] is True, f"{where}: claim is false: {block['options'].claim}"
        if block["options"].hidden:
            assert outcome["output"] == "", f"{where} is hidden but printed {outcome['output']!r}"


def test_the_numbers_in_the_prose_are_those_of_the_jaxpr_and_the_hlo(reports):
    example = reports["default"]["facts"]["example"]
    size, kernel, before, after = (example[name] for name in ("size", "kernel_size", "before", "after"))
    x_shape, kernel_shape = reports["jax"]["facts"]["cases"]["4x4 kernel"][:2]
    assert (x_shape[1], kernel_shape[0]) == (size, kernel)
    jaxpr = by_source(reports["jax"])["jaxpr"]["output"]
    dx_before, dx_after = example["dx_padding"]
    assert f"padding=(({before}, {after}), ({before}, {after}))" in jaxpr
    assert f"padding=(({dx_before}, {dx_after}), ({dx_before}, {dx_after}))" in jaxpr
    for backend in ("tf-xla", "jax"):
        hlo = by_source(reports[backend])["hlo"]["output"]
        assert f"[1, {size}, {size}, 2]" in hlo
        padded = example["padded_size"]
        assert f"[1, {padded}, {padded}, 2]" in hlo, backend


@pytest.mark.parametrize("backend", [*MACHINERIES, "default"])
def test_every_claim_holds_and_every_expected_failure_fails_as_stated(reports, backend):
    assert_claims_hold_and_failures_fail_as_stated(reports, backend)


@pytest.mark.parametrize("backend", MACHINERIES)
def test_gradients_agree_with_the_reference_to_round_off(reports, backend):
    facts = reports[backend]["facts"]
    assert len(facts["differences"]) == 5
    for case, pair in facts["differences"].items():
        assert max(pair) <= facts["round_off"], f"{backend}, {case}: {pair}"
    assert facts["round_off"] <= 1e-6  # the bound the page's claim sentence states
    # the printed bound stays put within round-off and grows with a real difference
    assert facts["printed"] == {"2.4e-07": "<= 1e-06", "1e-06": "<= 1e-06",
                                "3e-06": "<= 1e-05", "0.02": "<= 1e-01"}


def test_each_backend_is_the_one_its_environment_asked_for(reports):
    assert reports["tf-eigen"]["facts"]["backend"] == "tensorflow, Eigen CPU kernels"
    assert reports["tf-onednn"]["facts"]["backend"] == "tensorflow, oneDNN CPU kernels"
    assert reports["tf-eigen"]["facts"]["kernels"] == [
        "Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"]
    assert all(kernel.startswith("_MklNative") for kernel in reports["tf-onednn"]["facts"]["kernels"])
    assert reports["tf-xla"]["facts"]["backend"].startswith("tensorflow, every gradient step compiled by XLA")
    assert reports["jax"]["facts"]["backend"] == "jax"
    assert reports["torch"]["facts"]["backend"] == "torch"


def test_each_backend_prints_what_its_own_graph_holds(reports):
    eigen_graph = by_source(reports["tf-eigen"])["tf_graph"]["output"]
    assert eigen_graph == by_source(reports["tf-onednn"])["tf_graph"]["output"]
    assert "SpaceToBatchND" in eigen_graph.splitlines()[2] and "Pad'" not in eigen_graph
    jaxpr = by_source(reports["jax"])["jaxpr"]["output"]
    assert "lhs_dilation=(2, 2)" in jaxpr and "rev" in jaxpr
    torch_lines = by_source(reports["torch"])["torch_graph"]["output"].splitlines()
    assert ["ConstantPadNdBackward0" in line for line in torch_lines] == [True, True, False]


def test_model_fit_compiles_as_the_table_says(reports):
    """CPU only: jit_compile after compile(); with a GPU: Keras's rule with a GPU listed."""
    expected = {"tf-eigen": ["False", "True"], "tf-onednn": ["False", "True"], "tf-xla": ["True"],
                "jax": ["True", "True"], "torch": ["False", "False"]}
    for backend, values in expected.items():
        printed = by_source(reports[backend])["fit"]["output"].splitlines()
        assert [line.rsplit("= ", 1)[1] for line in printed] == values, (backend, printed)


def test_xla_keeps_the_padding_inside_the_fused_convolutions_and_pads_and_slices_for_zero_padding(reports):
    for backend in ("tf-xla", "jax"):
        fused, explicit = by_source(reports[backend])["hlo"]["output"].split("ZeroPadding2D + valid")
        assert " pad " not in fused and "slice" not in fused and fused.count("convolution") == 3
        assert "padding=0_0x1_2x1_2x0_0" in explicit and "slice={[0:1], [1:8], [1:8], [0:2]}" in explicit


if __name__ == "__main__":
    worker(*sys.argv[1:3])
