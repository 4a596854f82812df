"""docs/backends.md on every backend it names: one subprocess per backend, its
environment set before Keras is imported, runs the page's blocks that name that backend
in page order in one namespace (as the build's workers do), and reports each block's
outcome; the tests assert every claim held, every `raises` block raised exactly that
type, and the per-backend facts the prose states.

Run directly, this file is that worker: `python tests/pages/test_backends.py tf-eigen`.
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

from docexec.backends import BACKENDS

ROOT = Path(__file__).resolve().parents[2]
PAGE = "backends.md"

WORKER_TIMEOUT = 300  # seconds, per backend


def page_blocks() -> list[dict]:
    """The page's `python exec` blocks in order: source, options, code and where it starts."""
    from docexec import page as page_module

    lines = (ROOT / "docs" / PAGE).read_text(encoding="utf-8").split("\n")
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


def worker(backend: str) -> None:
    """Run the page's blocks for one backend; print one JSON report on the last line."""
    namespace = {"__name__": "__docexec__"}
    outcomes = [run_block(block, namespace)
                for block in page_blocks() if backend in block["backends"]]
    # snippets/backends.py's machinery() says which backend and kernel path the page ran on
    facts = {"backend": namespace["machinery"]() if "machinery" in namespace else None}
    if "differences" in namespace:
        facts["differences"] = namespace["differences"]
        facts["round_off"] = namespace["ROUND_OFF"]
        # what the table would print for a difference within and beyond the bound
        facts["printed"] = {str(d): namespace["at_most"](d) for d in (2.4e-7, 1e-6, 3e-6, 0.02)}
    if "kernels" in namespace:
        facts["kernels"] = namespace["kernels"]
    print(json.dumps({"outcomes": outcomes, "facts": facts}))


@pytest.fixture(scope="module")
def reports() -> dict:
    """Every backend's report, the workers running side by side; and how long they took."""
    started = time.monotonic()
    workers = {}
    for name, backend in BACKENDS.items():
        env = backend.worker_environment(first_on_path=(str(ROOT),))
        env.pop("KERAS_HOME", None)
        workers[name] = subprocess.Popen(
            [sys.executable, __file__, name], cwd=ROOT, env=env, text=True,
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
    print(f"\nbackend workers: {results['seconds']:.1f} s for {len(BACKENDS)} backends")
    return results


def by_source(report: dict) -> dict:
    return {outcome["source"].rsplit(":", 1)[1]: outcome for outcome in report["outcomes"]}


def test_every_block_names_known_backends_and_every_backend_starts_with_the_set_up():
    blocks = page_blocks()
    # Only the printed source of Keras's jit_compile rule, the same on every backend, runs in
    # the page's default worker.
    assert [block["source"] for block in blocks if not block["backends"]] == [
        "snippets/backends.py:fit_rule"]
    for block in blocks:
        unknown = set(block["backends"]) - set(BACKENDS)
        assert not unknown, (f"docs/{PAGE} line {block['line']}: unknown {sorted(unknown)}; "
                             f"allowed: {sorted(BACKENDS)}")
    for backend in BACKENDS:
        first = next(block for block in blocks if backend in block["backends"])
        assert first["source"].endswith(":setup") and first["options"].hidden


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_every_claim_holds_and_every_expected_failure_fails_as_stated(reports, backend):
    outcomes = iter(reports[backend]["outcomes"])
    for block in page_blocks():
        if backend not in block["backends"]:
            continue
        outcome = next(outcomes)
        where = f"{backend}, docs/{PAGE} line {block['line']} ({block['source']})"
        expected = block["options"].raises
        assert outcome["raised"] == expected, (
            f"{where}: expected {expected or 'no exception'}, got {outcome['raised']}: {outcome['message']}")
        if block["options"].claim is not None:
            assert outcome["value"] is True, f"{where}: claim is false: {block['options'].claim}"
        if block["options"].hidden:
            assert outcome["output"] == "", f"{where} is hidden but printed {outcome['output']!r}"


@pytest.mark.parametrize("backend", list(BACKENDS))
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


def test_the_failures_are_the_ones_the_prose_describes(reports):
    eigen, onednn = by_source(reports["tf-eigen"]), by_source(reports["tf-onednn"])
    assert "do not yet support dilation rates larger than 1" in eigen["dilated_op_eigen"]["message"]
    # the page names the Eigen input-gradient kernel from this message
    assert "Conv2DCustomBackpropInput" in eigen["transpose_even_kernel_eigen"]["message"]
    assert "mkl_conv_grad_input_ops" in onednn["transpose_even_kernel_onednn"]["message"]
    assert "empty output" in eigen["kernel_one_longer_refused"]["message"]
    assert "empty output" in by_source(reports["jax"])["kernel_one_longer_refused"]["message"]
    assert "Kernel size can't be greater" in by_source(reports["torch"])["kernel_one_longer_torch"]["message"]
    for backend in set(BACKENDS) - {"tf-xla"}:  # the defects are of the eager kernels
        printed = by_source(reports[backend])["transpose_even_kernel"]["output"]
        assert "promised output shape: (1, 4, 4, 1)" in printed, backend


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
    worker(sys.argv[1])
