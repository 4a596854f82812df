"""docs/more-layers.md on every machinery it names, as the site's build ran it (tests/helpers.py
`stored_outputs`, after the `built_site` fixture): the printed facts are the ones the prose describes.
The build itself fails on a false claim."""

from __future__ import annotations

import pytest

from helpers import stored_outputs
from pages.test_backends import page_blocks

PAGE = "more-layers.md"
MACHINERIES = ["tf-eigen", "tf-onednn", "jax", "torch", "tf-keras2"]


@pytest.fixture(scope="module")
def blocks(built_site) -> dict:
    return stored_outputs(PAGE)[0]


def printed(blocks, section: str, backend: str) -> list[str]:
    return blocks[section][backend]["output"]


def test_the_page_names_these_machineries_and_each_starts_with_the_set_up():
    blocks = page_blocks(PAGE)
    assert sorted({name for block in blocks for name in block["backends"]}) == sorted(MACHINERIES)
    assert all(block["backends"] for block in blocks)  # no block runs in the default worker
    for backend in MACHINERIES:
        first = next(block for block in blocks if backend in block["backends"])
        assert first["source"] == "snippets/more_layers.py:setup" and first["options"].hidden


def test_pooling_gradients_as_the_review_measured(blocks):
    # review content-edition-3, section 5.7: d sum(AveragePooling1D(3, 2, "same")([0, 1, 2, 3]))/dx
    real_cells, edge_repeated = "[0.3333 0.3333 0.8333 0.5000]", "[0.3333 0.3333 0.6667 0.6667]"
    for backend, average in [("tf-eigen", real_cells), ("tf-onednn", real_cells), ("jax", real_cells),
                             ("torch", edge_repeated)]:
        lines = printed(blocks, "pooling", backend)
        assert lines[2].endswith(average), (backend, lines)
        assert lines[5].endswith("[1.0000 0.0000 1.0000 0.0000]"), (backend, lines)  # the max never takes the padded 0


def test_grouped_layers_trace_to_xla_and_depthwise_to_its_own_ops(blocks):
    for backend in ("tf-eigen", "tf-onednn"):
        traced = "\n".join(printed(blocks, "traced", backend))
        assert "Conv2D(groups=2), padding='same': convolution ops []" in traced
        assert traced.count("compiled by XLA") == 2
        assert "('DepthwiseConv2dNativeBackpropFilter', 'SAME')" in traced


def test_lower_precision_rounds_more(blocks):
    # printed on these three as the scale each policy stays within (its digits differ between kernel paths)
    for backend in ("tf-eigen", "jax", "torch"):
        lines = printed(blocks, "precision", backend)
        assert [line.split(":")[0].strip() for line in lines] == ["float32", "mixed_float16", "mixed_bfloat16"]
        assert all(" within " in line and "NOT" not in line for line in lines), (backend, lines)
        assert [line.split(" within ")[1].split()[0] for line in lines] == ["1e-06", "1e-02", "1e-01"], backend


def test_the_keras_2_tab_ran_keras_2(blocks):
    assert printed(blocks, "keras2", "tf-keras2")[0].startswith("Conv2D from tf_keras, Keras 2.")
    for backend in ("tf-eigen", "tf-onednn"):
        assert printed(blocks, "keras2", backend)[0].startswith("Conv2D from keras, Keras 3."), backend
