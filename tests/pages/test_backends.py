"""docs/backends.md on every backend it names, as the site's build ran it: the tests read what the
build stored (tests/helpers.py `stored_outputs`, after the `built_site` fixture) and assert the
per-backend facts the prose states. The build itself fails on a false claim, on a `raises` block
that raised something else, and (under CI=true) on any output that differs from frozen/; so
nothing here runs the page a second time.
"""

from __future__ import annotations

import ast

import pytest

from docexec.backends import BACKENDS
from docexec.page import Block, parse_page
from helpers import REPO, stored_outputs

PAGE = "backends.md"
# The machineries backends.md runs on (tf-keras2 runs on docs/more-layers.md only)
MACHINERIES = ["tf-eigen", "tf-onednn", "tf-xla", "jax", "torch"]


def page_blocks(page: str = PAGE) -> list[dict]:
    """The page's `python exec` blocks in order: source, options and the backends each names."""
    lines = (REPO / "docs" / page).read_text(encoding="utf-8").split("\n")
    return [{"source": item.source, "line": item.line, "options": item.options,
             "backends": list(item.options.backends or ())}
            for item in parse_page(lines, REPO).items if isinstance(item, Block)]


@pytest.fixture(scope="module")
def stored(built_site) -> tuple[dict, dict]:
    return stored_outputs(PAGE)


def printed(stored, section: str, backend: str) -> str:
    return "\n".join(stored[0][section][backend]["output"])


def value(stored, expression: str):
    return ast.literal_eval(stored[1][expression][0])


def test_every_block_names_known_backends_and_every_backend_starts_with_the_set_up():
    blocks = page_blocks()
    # Only the numbers the prose quotes, the printed source of Keras's jit_compile rule and the
    # TF32 flags, the same on every backend, run in the page's default worker.
    assert [block["source"] for block in blocks if not block["backends"]] == [
        "snippets/backends.py:example_padding", "snippets/backends.py:fit_rule",
        "snippets/backends.py:tf32_flags"]
    for block in blocks:
        unknown = set(block["backends"]) - set(BACKENDS)
        assert not unknown, (f"docs/{PAGE} line {block['line']}: unknown {sorted(unknown)}; "
                             f"allowed: {sorted(BACKENDS)}")
    for backend in MACHINERIES:
        first = next(block for block in blocks if backend in block["backends"])
        assert first["source"].endswith(":setup") and first["options"].hidden


def test_the_numbers_in_the_prose_are_those_of_the_jaxpr_and_the_hlo(stored):
    size, kernel_size, padded = value(stored, "size"), value(stored, "kernel_size"), value(stored, "padded_size")
    before, after = value(stored, "(before, after)")
    dx_before, dx_after = value(stored, "dx_padding")
    jaxpr = printed(stored, "jaxpr", "jax")
    assert f"padding=(({before}, {after}), ({before}, {after}))" in jaxpr
    assert f"padding=(({dx_before}, {dx_after}), ({dx_before}, {dx_after}))" in jaxpr
    assert padded == size + before + after
    for backend in ("tf-xla", "jax"):
        hlo = printed(stored, "hlo", backend)
        assert f"[1, {size}, {size}, 2]" in hlo and f"[1, {padded}, {padded}, 2]" in hlo, backend
        assert f"size={kernel_size}x{kernel_size} pad={before}_{after}x{before}_{after}" in hlo, backend


@pytest.mark.parametrize("backend", MACHINERIES)
def test_the_agreement_table_prints_the_round_off_bound_on_every_backend(stored, backend):
    lines = printed(stored, "agreement", backend).splitlines()
    rows = lines[1:-1]
    assert len(rows) == 5 and all(row.count("<= 1e-06") == 2 for row in rows), rows
    # the tolerance's comment: a dkernel entry of the "4x4 kernel" case sums its 7 x 7 output positions
    assert lines[-1] == "the longest sum of products in one gradient entry: 49 terms", lines[-1]


def test_each_backend_is_the_one_its_environment_asked_for(stored):
    machinery = {backend: printed(stored, "which_machinery", backend).split(" | ")[0] for backend in MACHINERIES}
    assert machinery["tf-eigen"] == "tensorflow, Eigen CPU kernels"
    assert machinery["tf-onednn"] == "tensorflow, oneDNN CPU kernels"
    assert machinery["tf-xla"].startswith("tensorflow, every gradient step compiled by XLA")
    assert (machinery["jax"], machinery["torch"]) == ("jax", "torch")
    eigen_kernels = ast.literal_eval(printed(stored, "tf_kernels", "tf-eigen"))
    onednn_kernels = ast.literal_eval(printed(stored, "tf_kernels", "tf-onednn"))
    assert eigen_kernels == ["Conv2D", "Conv2DBackpropFilter", "Conv2DBackpropInput"]
    assert onednn_kernels == ["_MklNative" + kernel for kernel in eigen_kernels]


def test_each_backend_prints_what_its_own_graph_holds(stored):
    eigen_graph = printed(stored, "tf_graph", "tf-eigen")
    assert eigen_graph == printed(stored, "tf_graph", "tf-onednn")
    assert "SpaceToBatchND" in eigen_graph.splitlines()[2] and "Pad'" not in eigen_graph
    jaxpr = printed(stored, "jaxpr", "jax")
    assert "lhs_dilation=(2, 2)" in jaxpr and "rev" in jaxpr
    torch_lines = printed(stored, "torch_graph", "torch").splitlines()
    assert ["ConstantPadNdBackward0" in line for line in torch_lines] == [True, True, False]


def test_model_fit_compiles_as_the_table_says(stored):
    """CPU only: jit_compile after compile(); with a GPU: Keras's rule with a GPU listed."""
    expected = {"tf-eigen": ["False", "True"], "tf-onednn": ["False", "True"], "tf-xla": ["True"],
                "jax": ["True", "True"], "torch": ["False", "False"]}
    for backend, values in expected.items():
        lines = printed(stored, "fit", backend).splitlines()
        assert [line.rsplit("= ", 1)[1] for line in lines] == values, (backend, lines)


def test_the_tf32_flags_are_printed_as_the_libraries_report_them(stored):
    """TF32 is on by default in TensorFlow and for cuDNN convolutions in PyTorch (the page's prose)."""
    assert printed(stored, "tf32_flags", "default").splitlines() == [
        "tf.config.experimental.tensor_float_32_execution_enabled(): True",
        "torch.backends.cudnn.allow_tf32: True"]


def test_xla_keeps_the_padding_inside_the_fused_convolutions_and_pads_and_slices_for_zero_padding(stored):
    for backend in ("tf-xla", "jax"):
        fused, explicit = printed(stored, "hlo", backend).split("ZeroPadding2D + valid")
        assert " pad " not in fused and "slice" not in fused and fused.count("convolution") == 3
        assert "padding=0_0x1_2x1_2x0_0" in explicit and "slice={[0:1], [1:8], [1:8], [0:2]}" in explicit
