"""docs/appendix.md on every machinery it names, as the site's build ran it (tests/helpers.py
`stored_outputs`, after the `built_site` fixture): each failure is the one the prose describes. The
build itself fails on a false claim and on a `raises` block that raised another type."""

from __future__ import annotations

import numpy as np
import pytest
from keras.src.layers.convolutional import conv_test as keras_conv_test

from helpers import stored_outputs
from pages.test_backends import page_blocks
from snippets import keras_ref
from snippets.conv import conv1d

PAGE = "appendix.md"
MACHINERIES = ["tf-eigen", "tf-onednn", "tf-xla", "jax", "torch"]  # tf-xla: the infinite-dy section only


@pytest.fixture(scope="module")
def blocks(built_site) -> dict:
    return stored_outputs(PAGE)[0]


def error(blocks, section: str, backend: str) -> str:
    return blocks[section][backend]["error"] or ""


def test_the_page_names_these_machineries_and_each_starts_with_the_set_up():
    blocks = page_blocks(PAGE)
    assert sorted({name for block in blocks for name in block["backends"]}) == sorted(MACHINERIES)
    for backend in MACHINERIES:
        first = next(block for block in blocks if backend in block["backends"])
        assert first["source"] == "snippets/appendix.py:setup" and first["options"].hidden
    first_default = next(block for block in blocks if not block["backends"])
    assert first_default["source"] == "snippets/appendix.py:keras_test_setup" and first_default["options"].hidden


def test_the_failures_are_the_ones_the_prose_describes(blocks):
    eigen = {section: error(blocks, section, "tf-eigen") for section in blocks if "tf-eigen" in blocks[section]}
    assert "do not yet support dilation rates larger than 1" in eigen["dilated_op_eigen"]
    # W2 of review content-edition-3: Conv2DTranspose(dilation_rate=2) fails in its forward pass on Eigen
    assert "Conv2DBackpropInput" in eigen["transpose_dilated_eigen"]
    assert "do not yet support dilation rates larger than 1" in eigen["transpose_dilated_eigen"]
    assert "only supports the NHWC tensor format on the CPU" in eigen["channels_first_eigen"]
    assert "Gradients for grouped convolutions are not supported on CPU" in eigen["grouped_op_eigen"]
    # docs/backends.md names the Eigen input-gradient kernel from this message
    assert "Conv2DCustomBackpropInput" in eigen["transpose_even_kernel_eigen"]
    assert "mkl_conv_grad_input_ops" in error(blocks, "transpose_even_kernel_onednn", "tf-onednn")
    assert "empty output" in eigen["kernel_one_longer_refused"]
    assert "empty output" in error(blocks, "kernel_one_longer_refused", "jax")
    assert "Kernel size can't be greater" in error(blocks, "kernel_one_longer_torch", "torch")
    for backend in ("tf-eigen", "tf-onednn", "jax", "torch"):
        printed = "\n".join(blocks["transpose_even_kernel"][backend]["output"])
        assert "promised output shape: (1, 4, 4, 1)" in printed, backend


def test_keras_test_reference_pads_the_same_total_on_the_left():
    # the reference pads sum(_same_padding) zeros on the left; our NumPy causal
    # convolution (Keras's (k - 1) * d) is what Keras's layer computes
    rng = np.random.default_rng(4)
    for length, kernel_size, stride in [(6, 3, 2), (7, 4, 3), (9, 5, 2)]:
        x = rng.normal(size=(1, length, 1))
        kernel = rng.normal(size=(kernel_size, 1, 1))
        y_reference = keras_conv_test.np_conv1d(x, kernel, np.zeros(1), stride, "causal", "channels_last", 1, 1)
        total = sum(keras_conv_test._same_padding(length, kernel_size, stride))
        padded = np.pad(x, [(0, 0), (total, 0), (0, 0)])
        np.testing.assert_allclose(y_reference, conv1d(padded, kernel, stride, "valid"))
        np.testing.assert_allclose(
            keras_ref.conv1d(x, kernel, strides=stride, padding="causal"),
            conv1d(x, kernel, stride, "causal"), atol=1e-5)


def test_reference_disagreements_as_measured_with_keras_3_15(blocks):
    # 24 of 50 with keras 3.15.1 (issue 13); the claim only needs "some"
    printed = blocks["keras_test_reference"]["default"]["output"]
    disagreements = {line.split(":")[0]: int(line.split(" in ")[1].split(" of ")[0])
                     for line in printed if line.startswith("stride ")}
    assert disagreements["stride 1"] == 0
    assert disagreements["stride 2"] + disagreements["stride 3"] > 0
