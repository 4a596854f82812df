"""snippets.explorer (the explorer's table) and snippets.explore (its page), against
Keras and against conv.py in 2-D.

The explorer ships one table per axis; these tests check that table's output sizes
against Keras for every layer of the grid, its padding and reach against Keras's
forward pass for a sample, its refusals against Keras's, and that a square 2-D layer's
counts and reach are the outer products of the 1-D ones (conv2d_grad_input).
"""

from __future__ import annotations

import itertools
import json
import random

import numpy as np
import pytest

from helpers import page_module, stored_claim
from snippets import explorer, keras_ref
from snippets.conv import conv2d_grad_input, conv2d_loop
from snippets.padding import PADDINGS, output_size, padding_amounts

explore = page_module("explore")  # its grid claims are the check build's

keras = keras_ref.keras
tf = keras_ref.tf

TABLE = json.loads(explore.explorer_data)
GRID = list(itertools.product(TABLE["paddings"], TABLE["dilations"], TABLE["strides"],
                              TABLE["kernels"], TABLE["sizes"]))
# Layers the issue asks about by kind: even kernels, stride 2 on even and odd inputs,
# dilation, causal, and kernels longer than the input.
SAMPLE = [(7, 4, 2, "same", 1), (8, 4, 2, "same", 1), (6, 3, 2, "same", 1),
          (5, 2, 1, "same", 1), (7, 3, 1, "same", 3), (9, 5, 1, "valid", 2),
          (7, 3, 1, "causal", 2), (6, 4, 2, "causal", 1), (3, 7, 1, "same", 1),
          (16, 7, 4, "same", 1), (1, 1, 1, "valid", 1), (10, 6, 3, "valid", 1)]


def entry(size, kernel_size, stride, padding, dilation):
    index = GRID.index((padding, dilation, stride, kernel_size, size))
    return TABLE["layers"][index]


def keras_layer(kernel_size, stride, padding, dilation, spatial_dims=1):
    layer_class = {1: keras.layers.Conv1D, 2: keras.layers.Conv2D}[spatial_dims]
    return layer_class(1, kernel_size, strides=stride, padding=padding,
                       dilation_rate=dilation, use_bias=False, kernel_initializer="ones")


def keras_output_size(size, kernel_size, stride, padding, dilation):
    """Keras's output length, 0 when it refuses an empty output, None when it refuses the layer."""
    try:
        layer = keras_layer(kernel_size, stride, padding, dilation)
    except ValueError as error:
        assert "not supported in conjunction with" in str(error)
        return None
    try:
        return layer.compute_output_shape((1, size, 1))[1]
    except ValueError as error:
        assert "Computed output size would be zero or negative" in str(error)
        return 0


def test_the_table_covers_the_grid_the_issue_asks_for():
    assert TABLE["sizes"] == list(range(1, 17)) and TABLE["kernels"] == list(range(1, 8))
    assert TABLE["strides"] == TABLE["dilations"] == [1, 2, 3, 4]
    assert TABLE["paddings"] == list(PADDINGS) and len(TABLE["layers"]) == len(GRID)


def test_every_output_size_refusal_and_padding_is_keras_s_or_padding_py_s(built_site):
    # the page's claim compared every layer of the table with Keras (the check build's stored
    # outcome); here, a drawn sample of them again
    layers = len(TABLE["kernels"]) * len(TABLE["strides"]) * len(TABLE["paddings"]) * len(TABLE["dilations"])
    assert stored_claim("explore.md", "keras_claim").startswith(f"True on {layers} configurations")
    wrong = []
    for padding, d, s, k, n in random.Random(25).sample(GRID, 200):
        found = entry(n, k, s, padding, d)
        expected = keras_output_size(n, k, s, padding, d)
        if expected is None:
            ok = found is None
        else:
            ok = (found is not None and found[2] == expected
                  and tuple(found[:2]) == padding_amounts(n, k, s, padding, d)
                  and len(found) == (3 + n if expected else 3))
        if not ok:
            wrong.append(((n, k, s, padding, d), found, expected))
    assert wrong == []


def keras_reach(size, kernel_size, stride, padding, dilation):
    """reach[i, j] from Keras's forward pass: a kernel of ones over the one-hot inputs.
    Forward only, so it runs on every TF kernel path (Eigen refuses dilated gradients)."""
    layer = keras_layer(kernel_size, stride, padding, dilation)
    one_hot = np.eye(size, dtype="float32").reshape(size, size, 1)
    return np.asarray(layer(one_hot))[:, :, 0].T.round().astype(int)


@pytest.mark.parametrize("layer", SAMPLE, ids=str)
def test_reach_counts_and_taps_match_keras(layer):
    reach = explorer.reach(*layer)
    assert np.array_equal(reach, keras_reach(*layer))
    assert entry(*layer)[3:] == reach.sum(axis=0).tolist()
    size, kernel_size, stride, padding, dilation = layer
    before, _ = padding_amounts(size, kernel_size, stride, padding, dilation)
    # A tap reads padding exactly when no input pixel is under it, as Keras's reach shows.
    taps = explorer.taps_on_padding(*layer)
    for i, a in np.ndindex(taps.shape):
        pixel = i * stride + a * dilation - before
        assert taps[i, a] == (not 0 <= pixel < size)
        assert taps[i, a] or reach[i, pixel] == 1
    assert (~taps).sum(axis=1).tolist() == reach.sum(axis=1).tolist()


@pytest.mark.parametrize("layer", [layer for layer in SAMPLE if layer[3] == "same"], ids=str)
def test_same_padding_is_tensorflow_s_before_and_after(layer):
    """Keras's "same" equals "valid" on the input padded by the table's (before, after)."""
    size, kernel_size, stride, padding, dilation = layer
    before, after = entry(*layer)[:2]
    x = np.random.default_rng(0).integers(-3, 4, (1, size, 1)).astype("float32")
    same = keras_layer(kernel_size, stride, "same", dilation)(x)
    valid = keras_layer(kernel_size, stride, "valid", dilation)(
        np.pad(x, [(0, 0), (before, after), (0, 0)]))
    assert np.array_equal(np.asarray(same), np.asarray(valid))


def test_keras_refuses_stride_with_dilation_and_causal_in_2d():
    assert TABLE["paddings_2d"] == ["valid", "same"]
    with pytest.raises(ValueError, match="must be a list/tuple or one of"):
        keras_layer(3, 1, "causal", 1, spatial_dims=2)
    for s, d in itertools.product(TABLE["strides"], TABLE["dilations"]):
        refused = entry(5, 2, s, "same", d) is None
        try:
            keras_layer(2, s, "same", d, spatial_dims=2)
            assert not refused
        except ValueError:
            assert refused


def square_layers():
    for padding, d, s, k, n in GRID:
        found = entry(n, k, s, padding, d)
        if padding in TABLE["paddings_2d"] and found is not None and found[2] > 0:
            yield n, k, s, padding, d


def test_square_2d_counts_are_the_outer_product_of_the_1d_counts():
    """Every square layer of the grid: conv.py's 2-D input gradient of ones through a
    kernel of ones is counts x counts, which is how the explorer draws 2-D."""
    wrong = []
    for n, k, s, padding, d in square_layers():
        counts = np.array(entry(n, k, s, padding, d)[3:])
        out = output_size(n, k, s, padding, d)
        dx = conv2d_grad_input(np.ones((1, out, out, 1)), np.ones((k, k, 1, 1)),
                               (1, n, n, 1), s, padding, d)[0, :, :, 0]
        if not np.array_equal(dx, np.outer(counts, counts)):
            wrong.append((n, k, s, padding, d))
    assert wrong == []


def test_the_page_s_2d_check_is_keras_s_gradient_and_can_fail():
    """The page's 2-D half (expert review of edition 5, C2) spans odd and even kernels, strides 1-3,
    dilation and both paddings, holds there against Keras's Conv2D, and fails when the drawn
    counts are offset along one axis only (a lopsided 2-D drawing)."""
    layers = {(layer["kernel_size"] % 2, layer["stride"], layer["dilation"] > 1, layer["padding"])
              for layer in explore.squares}
    assert {k for k, *_ in layers} == {0, 1} and {s for _, s, *_ in layers} == {1, 2, 3}
    assert {d for *_, d, _ in layers} == {False, True} and {p for *_, p in layers} == {"valid", "same"}
    assert explore.over(explore.squares, explore.drawn_2d_counts_are_keras)
    n, k, s, padding, d = 8, 3, 2, "same", 1
    counts = np.array(entry(n, k, s, padding, d)[3:])
    keras_counts = explore.keras_counts_2d(n, k, s, padding, d)
    assert np.array_equal(keras_counts, np.outer(counts, counts))
    assert not np.array_equal(keras_counts, np.outer(counts, np.roll(counts, 1)))


@pytest.mark.parametrize("layer", [layer for layer in SAMPLE if layer[3] != "causal"], ids=str)
def test_square_2d_reach_is_the_outer_product_of_the_1d_reach(layer):
    """Output (i, j) of a square 2-D layer reads pixel (r, c) exactly when output i
    reads r and output j reads c along one axis (conv.py's 2-D forward pass)."""
    size, kernel_size, stride, padding, dilation = layer
    reach = explorer.reach(*layer)
    one_hot = np.eye(size * size).reshape(size * size, size, size, 1)
    y = conv2d_loop(one_hot, np.ones((kernel_size, kernel_size, 1, 1)), stride, padding, dilation)
    reach_2d = y[..., 0].reshape(size, size, *y.shape[1:3])  # [r, c, i, j]
    assert np.array_equal(reach_2d, np.einsum("ir,jc->rcij", reach, reach))


def test_the_static_figure_draws_the_explorer_s_opening_layer():
    assert explore.fig is not None and len(explore.fig.axes) == len(PADDINGS)


def test_the_input_gradient_page_s_explorer_shows_the_counts_keras_gives_there():
    """The embedded explorer's 2-D counts (outer products of its table's 1-D counts) are
    the page's own Keras counts for its 8x8 example, 3x3 and 5x5, 'same'."""
    input_gradient = page_module("input_gradient")

    table = json.loads(input_gradient.explorer_data)
    for kernel_size, keras_counts in [(3, input_gradient.counts_3), (5, input_gradient.counts_5)]:
        index = (table["paddings"].index("same") * len(table["kernels"])
                 + table["kernels"].index(kernel_size))
        counts = np.array(table["layers"][index][3:])
        assert table["sizes"] == [8] and table["strides"] == table["dilations"] == [1]
        assert np.array_equal(np.outer(counts, counts), keras_counts)
