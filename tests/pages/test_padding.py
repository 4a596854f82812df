"""snippets.padding against the shapes and padding TensorFlow and Keras actually use.

The grid covers every combination of sizes 1-9, kernels 1-5 (even ones too),
strides 1-3 and dilations 1-3. The rules are per axis, so 1-D convolutions test
them; the 2-D conformance suite (test_keras_ref.py) exercises them on two axes.
"""

import itertools
from pathlib import Path

import numpy as np
import pytest

from docexec.sections import parse_sections
from snippets import keras_ref, padding
from snippets.padding import causal_padding, output_size, padding_amounts, same_padding

tf = keras_ref.tf
keras = keras_ref.keras

GRID = list(itertools.product(range(1, 10), range(1, 6), range(1, 4), range(1, 4)))


def tf_output_length(size, kernel_size, stride, padding, dilation):
    """Length of tf.nn.conv1d's output by TensorFlow's shape function for the Conv2D op, or 0
    where it refuses an empty output.

    Shape inference runs when the op is added to a graph, before any kernel is chosen, so it
    is the same on every CPU kernel path. Running the op eagerly is not: the oneDNN CPU
    kernel returns a non-empty output for some VALID convolutions whose dilated kernel is
    longer than the input, where the Eigen kernel raises (tests/test_kernel_paths.py).
    """
    with tf.Graph().as_default():
        try:
            y = tf.nn.conv1d(tf.zeros((1, size, 1)), tf.zeros((kernel_size, 1, 1)), stride,
                             padding.upper(), dilations=dilation)
        except ValueError as error:
            assert "Negative dimension size" in str(error)
            return 0
    return y.shape[1]


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_output_size_matches_tensorflow(padding):
    mismatches = []
    for size, k, s, d in GRID:
        expected = tf_output_length(size, k, s, padding, d)
        if output_size(size, k, s, padding, d) != expected:
            mismatches.append((size, k, s, d, expected))
    assert mismatches == []


def test_output_size_matches_keras_layers():
    """Keras's own shape arithmetic, for every combination a Keras layer accepts."""
    mismatches = []
    for (size, k, s, d), mode in itertools.product(GRID, ["valid", "same", "causal"]):
        if not keras_ref.keras_accepts(s, d, spatial_dims=1):
            continue
        layer = keras.layers.Conv1D(1, k, strides=s, padding=mode, dilation_rate=d)
        expected = output_size(size, k, s, mode, d)
        try:
            _, length, _ = layer.compute_output_shape((1, size, 1))
        except ValueError as error:
            assert "zero or negative" in str(error)
            length = 0
        if length != expected:
            mismatches.append((size, k, s, d, mode, expected, length))
    assert mismatches == []


def test_causal_output_size_matches_a_keras_layer_run():
    """compute_output_shape aside, run Conv1D(causal) on real inputs."""
    for size, k, s, d in GRID[::7]:
        if keras_ref.keras_accepts(s, d, spatial_dims=1):
            layer = keras.layers.Conv1D(1, k, strides=s, padding="causal", dilation_rate=d)
            y = layer(np.ones((1, size, 1), np.float32))
            assert y.shape[1] == output_size(size, k, s, "causal", d)


def same_split_disagreements(pad_rule):
    """Grid points where TF's "same" differs from "valid" on the input padded by pad_rule.

    x holds distinct powers of two and the kernel distinct powers of three, so
    every sum is exact in float32 and a window shifted by one pixel gives a
    different value: the comparison is exact.
    """
    disagreements = []
    for size, k, s, d in GRID:
        x = 2.0 ** np.arange(size, dtype=np.float32).reshape(1, size, 1)
        kernel = 3.0 ** np.arange(k, dtype=np.float32).reshape(k, 1, 1)
        same = tf.nn.conv1d(x, kernel, s, "SAME", dilations=d)
        x_padded = np.pad(x, [(0, 0), pad_rule(size, k, s, d), (0, 0)])
        valid = tf.nn.conv1d(x_padded, kernel, s, "VALID", dilations=d)
        if not np.array_equal(same, valid):
            disagreements.append((size, k, s, d))
    return disagreements


def test_same_is_valid_on_the_input_padded_by_same_padding():
    assert same_split_disagreements(same_padding) == []


def test_the_split_check_detects_the_extra_zero_on_the_wrong_side():
    def extra_zero_before(size, k, s, d):
        before, after = same_padding(size, k, s, d)
        return after, before

    assert len(same_split_disagreements(extra_zero_before)) > 0


def test_causal_puts_every_zero_before():
    for k, d in itertools.product(range(1, 6), range(1, 4)):
        assert causal_padding(k, d) == ((k - 1) * d, 0)


def test_keras_causal_equals_valid_on_the_input_padded_by_causal_padding():
    x = 2.0 ** np.arange(9, dtype=np.float32).reshape(1, 9, 1)
    for k, d in itertools.product(range(1, 6), range(1, 4)):
        kernel = 3.0 ** np.arange(k, dtype=np.float32).reshape(k, 1, 1)
        causal, _, _ = keras_ref.conv_with_gradients(x, kernel, padding="causal", dilation=d)
        x_padded = np.pad(x, [(0, 0), causal_padding(k, d), (0, 0)])
        valid = tf.nn.conv1d(x_padded, kernel, 1, "VALID", dilations=d)
        np.testing.assert_array_equal(causal, valid)


def test_padding_amounts_dispatches_on_the_padding_name():
    assert padding_amounts(7, 4, 2, "valid", 1) == (0, 0)
    assert padding_amounts(7, 4, 2, "same", 1) == same_padding(7, 4, 2, 1)
    assert padding_amounts(7, 4, 2, "causal", 3) == causal_padding(4, 3)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: same_padding(0, 3), "size must be a positive int, got 0"),
        (lambda: same_padding(5, 2.0), "kernel_size must be a positive int, got 2.0"),
        (lambda: same_padding(5, 3, stride=0), "stride must be a positive int, got 0"),
        (lambda: causal_padding(3, dilation=-1), "dilation must be a positive int, got -1"),
        (lambda: output_size(5, 3, stride=True), "stride must be a positive int, got True"),
        (lambda: output_size(5, 3, padding="full"),
         "padding must be one of ('valid', 'same', 'causal'), got 'full'"),
    ],
)
def test_bad_arguments_raise_a_message_naming_them(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value) == message


def test_the_sections_in_reading_order_rebuild_the_module():
    """A page runs the sections it includes top to bottom in a fresh namespace;
    the `checks` section (hidden on a page) is all the others need."""
    path = Path(padding.__file__)
    sections = parse_sections(path.read_text(), "snippets/padding.py")
    assert list(sections) == ["checks", "same_padding", "causal_padding",
                              "padding_amounts", "output_size"]
    namespace = {}
    for name, section in sections.items():
        exec(compile(section.code, f"{path} [{name}]", "exec"), namespace)
    for size, k, s, d in GRID[::5]:
        for mode in padding.PADDINGS:
            assert (namespace["output_size"](size, k, s, mode, d)
                    == output_size(size, k, s, mode, d))
        assert namespace["same_padding"](size, k, s, d) == same_padding(size, k, s, d)
