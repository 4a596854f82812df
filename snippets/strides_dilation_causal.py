"""Strides, dilation, causal and transposed convolutions: where each puts the
zeros, and what that does to the gradient, checked against Keras."""

# --8<-- [start:setup]
import functools

import matplotlib.pyplot as plt
import numpy as np
import keras
import tensorflow as tf

from docexec.checks import grid, over
from snippets import keras_ref
from snippets.conv import conv1d, conv1d_grad_input, conv2d_grad_input
from snippets.padding import (causal_padding, output_size, padding_amounts,
                              same_padding)
from snippets.show import whole

rng = np.random.default_rng(0)
# --8<-- [end:setup]


# --8<-- [start:stride_rule]
kernel_size, stride = 3, 2
for size in (7, 8):
    pad_before, pad_after = same_padding(size, kernel_size, stride)
    print(
        f"input length {size}: pad {pad_before} before, {pad_after} after, "
        f"{output_size(size, kernel_size, stride, 'same')} outputs"
    )
# --8<-- [end:stride_rule]


# --8<-- [start:stride_figure_drawing]
def draw_windows(ax, size, kernel_size, stride):
    """Input cells (padding hatched) and, under them, each output's window."""
    pad_before, pad_after = same_padding(size, kernel_size, stride)
    cells = pad_before + size + pad_after
    for cell in range(cells):
        padded = cell < pad_before or cell >= pad_before + size
        hatch = "//" if padded else None
        colour = "white" if padded else "#cfe2f3"
        square = plt.Rectangle((cell, 0), 1, 1, hatch=hatch, facecolor=colour,
                               edgecolor="0.4")
        ax.add_patch(square)
        label = "0" if padded else f"x{cell - pad_before}"
        ax.text(cell + 0.5, 0.5, label, ha="center", va="center", fontsize=9,
                backgroundcolor=colour)
    for out in range(output_size(size, kernel_size, stride, "same")):
        start, row = out * stride, -0.6 - 0.5 * out
        end = start + kernel_size
        ax.plot([start + 0.1, end - 0.1], [row, row], lw=4, color="#e69138")
        ax.text(start - 0.2, row, f"y{out}", ha="right", va="center", fontsize=9)
    ax.set_xlim(-1.2, cells + 0.2)
    ax.set_ylim(row - 0.5, 1.2)
    title = f"length {size}: {pad_before} zero(s) before, {pad_after} after"
    ax.set_title(title, fontsize=10)
    ax.axis("off")


def draw_stride_windows(sizes, kernel_size, stride):
    """One row of windows per input length."""
    fig, axes = plt.subplots(len(sizes), 1, figsize=(6, 2.1 * len(sizes)))
    for ax, size in zip(axes, sizes):
        draw_windows(ax, size, kernel_size, stride)
    return fig
# --8<-- [end:stride_figure_drawing]


# --8<-- [start:stride_figure]
fig = draw_stride_windows((7, 8), kernel_size, stride)
# --8<-- [end:stride_figure]


# --8<-- [start:stride_gradient]
def coverage(size):
    """Input gradient for all-ones kernel and dy: windows reading each input."""
    y_length = output_size(size, kernel_size, stride, "same")
    dy = np.ones((1, y_length, 1), dtype="float32")
    ones = np.ones((kernel_size, 1, 1), dtype="float32")
    return keras_ref.conv1d_grad_input(
        dy, ones, (1, size, 1), strides=stride, padding="same"
    )


coverage_odd, coverage_even = coverage(7)[0, :, 0], coverage(8)[0, :, 0]
print("length 7:", coverage_odd)
print("length 8:", coverage_even)
# --8<-- [end:stride_gradient]


# --8<-- [start:general_input_gradient]
def dilate(values, step):
    """step - 1 zeros between consecutive steps of an NWC array."""
    batch, steps, channels = values.shape
    spread = np.zeros((batch, (steps - 1) * step + 1, channels))
    spread[:, ::step] = values
    return spread


def input_gradient_by_formula(dy, kernel, size, stride, dilation, padding):
    """dx of a 1-D convolution: dilate dy by the stride, pad it, correlate it
    with the rotated kernel (channels swapped) at the layer's dilation."""
    span = (kernel.shape[0] - 1) * dilation
    before, after = padding_amounts(size, kernel.shape[0], stride, padding,
                                    dilation)
    last_window_end = (dy.shape[1] - 1) * stride + span  # in the padded input
    unread = before + size + after - (last_window_end + 1)
    padded = np.pad(dilate(dy, stride),
                    [(0, 0), (span - before, span - after + unread), (0, 0)])
    rotated = kernel[::-1].transpose(0, 2, 1)
    return conv1d(padded, rotated, dilation=dilation)  # stride 1, 'valid'
# --8<-- [end:general_input_gradient]


# --8<-- [start:stride_grid]
def stride_grid(*without):
    """Input lengths 3-10, kernel 1-4, stride 1-3, dilation 1-2, 'same', 'valid' and
    'causal', as keyword dicts, where the layer has an output ('valid' when the axis is
    left out); without the axes named in `without`."""
    axes = dict(size=range(3, 11), kernel_size=range(1, 5), stride=(1, 2, 3),
                dilation=(1, 2), padding=("same", "valid", "causal"))
    for name in without:
        del axes[name]
    return [configuration for configuration in grid(**axes)
            if (configuration["size"] >= (configuration["kernel_size"] - 1) * configuration["dilation"] + 1
                or configuration.get("padding", "valid") != "valid")]


@functools.cache
def keras_gradients(size, kernel_size, stride, dilation, padding):
    """x, kernel, dy and Keras's y, dx, dkernel for one random layer: batch 2,
    2 input and 3 output channels. (Keras refuses stride > 1 with dilation > 1:
    tf.nn.conv1d, its gradients compiled by XLA, stands in there; see
    snippets/keras_ref.py.)"""
    seeded = np.random.default_rng([size, kernel_size, stride, dilation])
    x = seeded.normal(size=(2, size, 2))
    kernel = seeded.normal(size=(kernel_size, 2, 3))
    length = output_size(size, kernel_size, stride, padding, dilation)
    dy = seeded.normal(size=(2, length, 3))
    y, dx, dkernel = keras_ref.conv_with_gradients(x, kernel, dy, stride,
                                                   padding, dilation)
    return x, kernel, dy, y, dx, dkernel


def input_formula_matches(size, kernel_size, stride, dilation, padding):
    _, kernel, dy, _, dx, _ = keras_gradients(size, kernel_size, stride,
                                              dilation, padding)
    ours = input_gradient_by_formula(dy, kernel, size, stride, dilation, padding)
    return ours.shape == dx.shape and np.allclose(ours, dx, atol=1e-5)


over(stride_grid(), input_formula_matches)
# --8<-- [end:stride_grid]


# --8<-- [start:unread_pixels]
n, k, s = 6, 3, 2
ones_dy = np.ones((1, output_size(n, k, s, "valid"), 1))
unread_example = keras_ref.conv1d_grad_input(ones_dy, np.ones((k, 1, 1)),
                                             (1, n, 1), strides=s)
print(f"'valid', n={n}, k={k}, stride {s}, every weight and dy 1:")
print("dx =", whole(unread_example[0, :, 0]))
# --8<-- [end:unread_pixels]


# --8<-- [start:unread_pixels_claim]
def pixels_read(size, kernel_size, stride, dilation, padding):
    """The input positions some tap of some window reads."""
    before, _ = padding_amounts(size, kernel_size, stride, padding, dilation)
    length = output_size(size, kernel_size, stride, padding, dilation)
    return {i * stride + a * dilation - before
            for i in range(length) for a in range(kernel_size)} & set(range(size))


def zero_gradient_exactly_where_unread(size, kernel_size, stride, dilation,
                                       padding):
    dx = keras_gradients(size, kernel_size, stride, dilation, padding)[4]
    reached = set(np.flatnonzero(np.any(dx != 0, axis=(0, 2))).tolist())
    return reached == pixels_read(size, kernel_size, stride, dilation, padding)


over(stride_grid(), zero_gradient_exactly_where_unread)
# --8<-- [end:unread_pixels_claim]


# --8<-- [start:general_kernel_gradient]
def kernel_gradient_by_formula(x, dy, kernel_size, stride, dilation, padding):
    """dkernel[a] = sum over outputs i of x_padded[i*stride + a*dilation].T @ dy[i]:
    the padded input correlated with dy dilated by the stride, read at every
    dilation-th lag."""
    before, after = padding_amounts(x.shape[1], kernel_size, stride, padding,
                                    dilation)
    x_padded = np.pad(x, [(0, 0), (before, after), (0, 0)])
    spread = dilate(dy, stride)
    return np.stack([
        np.einsum("ntc,nto->co",
                  x_padded[:, a * dilation:a * dilation + spread.shape[1]], spread)
        for a in range(kernel_size)
    ])


def kernel_formula_matches(size, kernel_size, stride, dilation, padding):
    x, _, dy, _, _, dkernel = keras_gradients(size, kernel_size, stride,
                                              dilation, padding)
    ours = kernel_gradient_by_formula(x, dy, kernel_size, stride, dilation, padding)
    return np.allclose(ours, dkernel, atol=1e-5)


over(stride_grid(), kernel_formula_matches)
# --8<-- [end:general_kernel_gradient]


# --8<-- [start:shifted_windows]
# 5 inputs, kernel 3, stride 2: where each output's window starts
for padding in ("valid", "same"):
    before, _ = padding_amounts(5, 3, 2, padding)
    starts = [i * 2 - before for i in range(output_size(5, 3, 2, padding))]
    print(f"{padding:5}: windows start at {starts}")
# --8<-- [end:shifted_windows]


# --8<-- [start:shifted_windows_claim]
def shares_windows_with_valid(size, kernel_size, stride, dilation):
    """When the stride divides the zeros 'same' puts before the input, its
    outputs include every 'valid' output, shifted; otherwise they share none."""
    y_same = keras_gradients(size, kernel_size, stride, dilation, "same")[3]
    y_valid = keras_gradients(size, kernel_size, stride, dilation, "valid")[3]
    before, _ = same_padding(size, kernel_size, stride, dilation)
    same, valid = y_same[0, :, 0], y_valid[0, :, 0]
    if before % stride == 0:
        shift = before // stride
        return np.allclose(same[shift:shift + len(valid)], valid, atol=1e-5)
    return bool(np.min(np.abs(same[:, None] - valid[None, :])) > 1e-4)


over(stride_grid("padding"), shares_windows_with_valid)
# --8<-- [end:shifted_windows_claim]


# --8<-- [start:dilation_rule]
dilation = 2
effective_size = (kernel_size - 1) * dilation + 1
x_dilation = rng.normal(size=(1, 9, 1))
length = x_dilation.shape[1]
dilated_pads = same_padding(length, kernel_size, dilation=dilation)
print(f"kernel {kernel_size}, dilation {dilation}: pads {dilated_pads}")
print(f"kernel {effective_size}, no dilation: pads "
      f"{same_padding(length, effective_size)}")
# --8<-- [end:dilation_rule]


# --8<-- [start:dilation_claim]
def spread(kernel, dilation):
    """The kernel with dilation - 1 zeros inserted between its taps."""
    span = (kernel.shape[0] - 1) * dilation + 1
    spread_kernel = np.zeros((span,) + kernel.shape[1:])
    spread_kernel[::dilation] = kernel
    return spread_kernel


kernel_dilation = rng.normal(size=(kernel_size, 1, 1))
kernel_spread = spread(kernel_dilation, dilation)
y_dilated = keras_ref.conv1d(
    x_dilation, kernel_dilation, padding="same", dilation=dilation
)
y_spread = keras_ref.conv1d(x_dilation, kernel_spread, padding="same")
y_numpy = conv1d(x_dilation, kernel_dilation, padding="same", dilation=dilation)
spread_matches = np.allclose(y_dilated, y_spread, atol=1e-5)
spread_matches and np.allclose(y_numpy, y_dilated, atol=1e-5)
# --8<-- [end:dilation_claim]


# --8<-- [start:stride_dilation_refused]
keras.layers.Conv1D(1, kernel_size, strides=stride, dilation_rate=dilation)
# --8<-- [end:stride_dilation_refused]


# --8<-- [start:stride_dilation_tf_nn]
x_both = rng.normal(size=(1, 11, 1))
options = dict(strides=stride, padding="same", dilation=dilation)
y_both = keras_ref.conv1d(x_both, kernel_dilation, **options)  # via tf.nn
np.allclose(conv1d(x_both, kernel_dilation, **options), y_both, atol=1e-5)
# --8<-- [end:stride_dilation_tf_nn]


# --8<-- [start:causal_rule]
x_causal = rng.normal(size=(1, 6, 1))
kernel_causal = rng.normal(size=(kernel_size, 1, 1))
pad_left, pad_right = causal_padding(kernel_size)
y_causal = keras_ref.conv1d(x_causal, kernel_causal, padding="causal")
x_left_padded = np.pad(x_causal, [(0, 0), (pad_left, pad_right), (0, 0)])
y_left_padded = keras_ref.conv1d(x_left_padded, kernel_causal, padding="valid")
print(f"causal padding (before, after): {(pad_left, pad_right)}")
print("output keeps the input's length:", y_causal.shape == x_causal.shape)
# --8<-- [end:causal_rule]


# --8<-- [start:causal_claim]
y_numpy_causal = conv1d(x_causal, kernel_causal, padding="causal")
left_padding_matches = np.allclose(y_causal, y_left_padded, atol=1e-5)
left_padding_matches and np.allclose(y_numpy_causal, y_causal, atol=1e-5)
# --8<-- [end:causal_claim]


# --8<-- [start:jacobian]
def jacobian(layers, length):
    """d output[t] / d input[s] through single-channel Keras layers, as (t, s)."""
    x = tf.constant(rng.normal(size=(1, length, 1)), dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x
        for layer in layers:
            y = layer(y)
    return tape.jacobian(y, x).numpy().reshape(length, length)


def conv_stack(padding, dilations, kernel_size):
    """Linear Conv1D layers, positive weights so no tap can cancel another."""
    layers = []
    for rate in dilations:
        layer = keras.layers.Conv1D(
            1, kernel_size, padding=padding, dilation_rate=rate, use_bias=False
        )
        layer.build((1, None, 1))
        layer.kernel.assign(rng.uniform(0.5, 1.5, size=(kernel_size, 1, 1)))
        layers.append(layer)
    return layers


stack_kernel_size, dilations, steps = 2, (1, 2, 4), 16
same_stack = conv_stack("same", dilations, stack_kernel_size)
causal_stack = conv_stack("causal", dilations, stack_kernel_size)
jacobian_same = jacobian(same_stack, steps)
jacobian_causal = jacobian(causal_stack, steps)
receptive_field = 1 + sum((stack_kernel_size - 1) * rate for rate in dilations)
# --8<-- [end:jacobian]


# --8<-- [start:jacobian_figure_drawing]
def draw_jacobians(matrices, titles):
    """Each Jacobian's non-zero entries, side by side."""
    fig, axes = plt.subplots(1, len(matrices), figsize=(8, 4), sharey=True)
    for ax, matrix, title in zip(axes, matrices, titles):
        ax.imshow(matrix != 0, cmap="Blues")
        ax.set_title(f"{title}: which inputs reach each output", fontsize=10)
        ax.set_xlabel("input step s")
    axes[0].set_ylabel("output step t")
    fig.tight_layout()
    return fig
# --8<-- [end:jacobian_figure_drawing]


# --8<-- [start:jacobian_figure]
fig = draw_jacobians((jacobian_same, jacobian_causal), ('"same"', '"causal"'))
# --8<-- [end:jacobian_figure]


# --8<-- [start:causal_future_claim]
causal_reads_no_future = bool(np.all(np.triu(jacobian_causal, k=1) == 0))
causal_reads_no_future and bool(np.any(np.triu(jacobian_same, k=1) != 0))
# --8<-- [end:causal_future_claim]


# --8<-- [start:causal_gradient]
t = 3
dy_causal = np.zeros((1, 6, 1))
dy_causal[0, t, 0] = 1.0  # a gradient at output step t only
dx_causal = keras_ref.conv1d_grad_input(
    dy_causal, kernel_causal, x_causal.shape, padding="causal"
)
dx_causal[0, :, 0]
# --8<-- [end:causal_gradient]


# --8<-- [start:causal_gradient_claim]
def causal_gradient_reaches(t, dilation):
    """One-hot dy at output t: NumPy's dx equals Keras's, and is non-zero at
    the inputs t - a * dilation (a = 0 .. k - 1) only."""
    one_hot = np.zeros((1, 6, 1))
    one_hot[0, t, 0] = 1.0
    args = (one_hot, kernel_causal, x_causal.shape)
    options = dict(padding="causal", dilation=dilation)
    keras_dx = keras_ref.conv1d_grad_input(*args, **options)
    taps = {t - a * dilation for a in range(kernel_size)} & set(range(6))
    reached = set(np.flatnonzero(keras_dx[0, :, 0]).tolist())
    return reached == taps and np.allclose(
        conv1d_grad_input(*args, **options), keras_dx, atol=1e-5)


over(grid(t=range(6), dilation=(1, 2)), causal_gradient_reaches)
# --8<-- [end:causal_gradient_claim]


# --8<-- [start:transpose_collapse]
kernel_3x3 = rng.normal(size=(3, 3, 1, 2))
for size in (7, 8):
    x = rng.normal(size=(1, size, size, 1))
    y = keras_ref.conv2d(x, kernel_3x3, strides=2, padding="same")
    print(f"{x.shape[1:3]} -> {y.shape[1:3]}")
# --8<-- [end:transpose_collapse]


# --8<-- [start:transpose_shapes]
x_small = rng.normal(size=(1, 4, 4, 2)).astype("float32")
for padding, output_padding in [
    ("same", None), ("same", 0), ("same", 1), ("valid", None), ("valid", 1)
]:
    layer = keras.layers.Conv2DTranspose(
        1, 3, strides=2, padding=padding, output_padding=output_padding
    )
    size = layer(x_small).shape[1:3]
    print(f"padding={padding!r:8} output_padding={output_padding!s:5} -> {size}")
# --8<-- [end:transpose_shapes]


# --8<-- [start:transpose_is_gradient]
def transposed(x, kernel, output_padding):
    layer = keras.layers.Conv2DTranspose(
        kernel.shape[2], kernel.shape[:2], strides=2, padding="same",
        output_padding=output_padding, use_bias=False,
    )
    layer.build(x.shape)
    layer.kernel.assign(kernel)
    return keras.ops.convert_to_numpy(layer(x))


def maps_back(size, kernel_size, output_padding):
    """Does a stride-2 'same' Conv2D map the transposed layer's output size back to its
    input size? Both sizes from Keras's own shape functions."""
    layer = keras.layers.Conv2DTranspose(1, kernel_size, strides=2, padding="same",
                                         output_padding=output_padding)
    out = layer.compute_output_shape((1, size, size, 2))[1]
    forward = keras.layers.Conv2D(1, kernel_size, strides=2, padding="same")
    return forward.compute_output_shape((1, out, out, 1))[1] == size


def transpose_is_input_gradient(size, kernel_size, output_padding):
    """Against tf.GradientTape of a Conv2D and against NumPy's input gradient."""
    seeded = np.random.default_rng([size, kernel_size])
    x = seeded.normal(size=(1, size, size, 2)).astype("float32")
    # HWIO of the forward conv: (height, width, filters, inputs) of the transpose
    kernel = seeded.normal(size=(kernel_size, kernel_size, 1, 2)).astype("float32")
    y = transposed(x, kernel, output_padding)
    shape = (1, y.shape[1], y.shape[2], 1)
    options = dict(strides=2, padding="same")
    tape = keras_ref.conv2d_grad_input(x, kernel, shape, **options)
    numpy = conv2d_grad_input(x, kernel, shape, **options)
    return np.allclose(y, tape, atol=1e-5) and np.allclose(y, numpy, atol=1e-4)


configurations = [c for c in grid(size=range(2, 8), kernel_size=range(2, 6),
                                  output_padding=(None, 0, 1))
                  if maps_back(**c)]
over(configurations, transpose_is_input_gradient)
# --8<-- [end:transpose_is_gradient]
