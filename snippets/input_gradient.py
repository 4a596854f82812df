"""Input gradient page: three equal views of the gradient that reaches a
zero-padded input, each checked against tf.GradientTape, and how many output
positions reach each pixel."""

# --8<-- [start:setup]
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from docexec.checks import grid, over
from snippets import keras_ref
from snippets.conv import scatter_then_crop
from snippets.padding import output_size, same_padding
from snippets.show import image, write_values

rng = np.random.default_rng(2)
# --8<-- [end:setup]


# --8<-- [start:problem]
x = rng.integers(-3, 4, size=(1, 5, 5, 1)).astype(float)  # NHWC
kernel = rng.integers(-2, 3, size=(3, 3, 1, 1)).astype(float)  # HWIO
dy = rng.integers(-2, 3, size=(1, 5, 5, 1)).astype(float)  # per output

# Keras: Conv2D(padding="same") under tf.GradientTape, in float32
dx_keras = keras_ref.conv2d_grad_input(dy, kernel, x.shape, padding="same")
image(dx_keras)
# --8<-- [end:problem]


# --8<-- [start:padded_then_cropped]
pads = same_padding(5, 3)  # (before, after) on each axis
dx_cropped = scatter_then_crop(dy, kernel, x.shape, strides=(1, 1),
                               dilation=(1, 1), pads=(pads, pads))
# --8<-- [end:padded_then_cropped]


# --8<-- [start:padded_then_cropped_claim]
np.allclose(dx_cropped, dx_keras, atol=1e-5)
# --8<-- [end:padded_then_cropped_claim]


# --8<-- [start:masked_loop]
def grad_input_masked(dy, kernel, input_shape, pad_before):
    """Stride 1: skip each tap that lands on padding; nothing to crop."""
    _, h, w, _ = input_shape
    kh, kw, _, _ = kernel.shape
    dx = np.zeros(input_shape)
    for i in range(dy.shape[1]):
        for j in range(dy.shape[2]):
            for a in range(kh):
                for b in range(kw):
                    row, col = i + a - pad_before, j + b - pad_before
                    if 0 <= row < h and 0 <= col < w:  # not padding
                        dx[:, row, col, :] += dy[:, i, j, :] @ kernel[a, b].T
    return dx


pad_before, pad_after = same_padding(5, 3)
dx_masked = grad_input_masked(dy, kernel, x.shape, pad_before)
# --8<-- [end:masked_loop]


# --8<-- [start:masked_loop_claim]
np.allclose(dx_masked, dx_keras, atol=1e-5)
# --8<-- [end:masked_loop_claim]


# --8<-- [start:transposed]
# the kernel exactly as the forward pass used it
dx_transposed = tf.nn.conv2d_transpose(
    tf.constant(dy, tf.float32), tf.constant(kernel, tf.float32),
    output_shape=x.shape, strides=1, padding="SAME",
)
# as an ordinary convolution: kernel rotated 180°, channel axes swapped
kernel_flipped = kernel[::-1, ::-1].transpose(0, 1, 3, 2)
dx_flipped = keras_ref.conv2d(dy, kernel_flipped, padding="same")
# --8<-- [end:transposed]


# --8<-- [start:transposed_claim]
(
    np.allclose(dx_transposed, dx_keras, atol=1e-5)
    and np.allclose(dx_flipped, dx_keras, atol=1e-5)
)
# --8<-- [end:transposed_claim]


# --8<-- [start:adjoint]
# Integer data: both inner products are exact in float32.
x_test = rng.integers(-3, 4, size=x.shape).astype(float)
dy_test = rng.integers(-3, 4, size=x.shape).astype(float)
y_test = keras_ref.conv2d(x_test, kernel, padding="same")
dx_test = keras_ref.conv2d_grad_input(dy_test, kernel, x.shape,
                                       padding="same")
forward_side = np.vdot(y_test, dy_test)
backward_side = np.vdot(x_test, dx_test)
print("<conv(x), dy>   =", forward_side)
print("<x, conv^T(dy)> =", backward_side)
# --8<-- [end:adjoint]


# --8<-- [start:adjoint_claim]
bool(forward_side == backward_side)
# --8<-- [end:adjoint_claim]


# --8<-- [start:finite_differences]
# float64 throughout: TensorFlow's CPU gradients accept it (without dilation)
x_64 = tf.constant(rng.normal(size=(1, 7, 7, 1)))
kernel_64 = tf.constant(rng.normal(size=(4, 4, 1, 1)))
print("'same' padding for n=7, k=4, stride 2:", same_padding(7, 4, 2))


def conv_of_x(x):
    return keras.ops.conv(x, kernel_64, strides=2, padding="same")


def conv_of_kernel(kernel):
    return keras.ops.conv(x_64, kernel, strides=2, padding="same")


largest_error = {}
for name, function, point in [("input", conv_of_x, x_64),
                              ("kernel", conv_of_kernel, kernel_64)]:
    # every entry of the Jacobian, by back-propagation and by finite differences
    (by_backprop,), (by_differences,) = tf.test.compute_gradient(function, [point])
    largest_error[name] = float(np.max(np.abs(by_backprop - by_differences)))
    print(f"{name} gradient: Jacobian {by_backprop.shape}, largest difference "
          f"below 1e-9: {largest_error[name] < 1e-9}")
# --8<-- [end:finite_differences]


# --8<-- [start:finite_differences_claim]
max(largest_error.values()) < 1e-9
# --8<-- [end:finite_differences_claim]


# --8<-- [start:reach_counts]
def reach_through(layers, size, kernel_size):
    """How many paths lead from the outputs of `layers` stacked 'same'
    convolutions back to each input pixel: the input gradient when every
    kernel weight and every upstream gradient is 1. One layer: how many
    output positions read the pixel."""
    ones_kernel = np.ones((kernel_size, kernel_size, 1, 1))
    shape = (1, size, size, 1)
    gradient = np.ones(shape)
    for _ in range(layers):
        gradient = keras_ref.conv2d_grad_input(
            gradient, ones_kernel, shape, padding="same")
    return image(gradient)


counts_3 = reach_through(1, 8, 3)
counts_5 = reach_through(1, 8, 5)
counts_3
# --8<-- [end:reach_counts]


# --8<-- [start:reach_counts_claim]
def corner_and_centre(counts, k):
    centre = counts.shape[0] // 2
    return (counts[0, 0] == ((k + 1) // 2) ** 2
            and counts[centre, centre] == k**2)


bool(corner_and_centre(counts_3, 3) and corner_and_centre(counts_5, 5))
# --8<-- [end:reach_counts_claim]


# --8<-- [start:valid_vs_same_reach]
def reads_per_pixel(size, kernel_size, padding):
    """How many output positions of one convolution read each input pixel;
    kernel_size is k or (height, width)."""
    kernel_hw = np.broadcast_to(kernel_size, 2)
    out = [output_size(size, k, 1, padding) for k in kernel_hw]
    dy = np.ones((1, *out, 1))
    return image(keras_ref.conv2d_grad_input(
        dy, np.ones((*kernel_hw, 1, 1)), (1, size, size, 1), padding=padding))


reads = {padding: reads_per_pixel(8, 3, padding) for padding in ("valid", "same")}
for padding, counts in reads.items():
    print(f"{padding:5}: corner {counts[0, 0]}, edge {counts[0, 4]}, "
          f"centre {counts[4, 4]}")
# --8<-- [end:valid_vs_same_reach]


# --8<-- [start:valid_vs_same_reach_claim]
def edges_follow_the_rule(size, kernel_h, kernel_w):
    """Stride 1: 'same' reads no pixel less often than 'valid', and the
    pixels of each edge it pads more often; an edge's pixels are read less often than the
    middle row's or column's exactly when the kernel is 2 or more across the
    edge (3 for the edge after the input under 'same')."""
    valid = reads_per_pixel(size, (kernel_h, kernel_w), "valid")
    same = reads_per_pixel(size, (kernel_h, kernel_w), "same")
    middle = size // 2
    holds = bool(np.all(same >= valid))
    for k, valid_lines, same_lines in ((kernel_h, valid, same),
                                       (kernel_w, valid.T, same.T)):
        pads = same_padding(size, k)  # (before, after)
        for edge, pad in zip((0, -1), pads):
            if pad > 0:
                holds &= bool(np.all(same_lines[edge] > valid_lines[edge]))
            for lines, short in ((valid_lines, k >= 2), (same_lines, pad < k - 1)):
                fewer = lines[edge] < lines[middle]
                holds &= bool(np.all(fewer) if short else not np.any(fewer))
    return holds


over(grid(size=(6, 7, 8), kernel_h=range(1, 6), kernel_w=range(1, 6)),
     edges_follow_the_rule)
# --8<-- [end:valid_vs_same_reach_claim]


# --8<-- [start:reach_figure_drawing]
def draw_reach(counts_by_kernel):
    """One heat map of counts per kernel size, each number written in its cell."""
    fig, axes = plt.subplots(1, len(counts_by_kernel), figsize=(7.5, 3.5))
    for ax, (k, counts) in zip(axes, counts_by_kernel.items()):
        shown = ax.imshow(counts, cmap="viridis", vmin=0, vmax=k * k)
        write_values(ax, counts, fontsize=8, color=lambda value, k=k: "white" if value < 0.6 * k * k else "black")
        ax.set_title(f"{k}x{k} kernel", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(shown, ax=ax, shrink=0.8)
    fig.suptitle("output positions that read each pixel ('same', stride 1)",
                 fontsize=10)
    fig.tight_layout()
    return fig
# --8<-- [end:reach_figure_drawing]


# --8<-- [start:reach_figure]
fig = draw_reach({3: counts_3, 5: counts_5})
# --8<-- [end:reach_figure]


# --8<-- [start:explorer]
from snippets.explorer import explorer_json

# The explorer embedded on the page: the example's 8x8 input, 3x3 or 5x5.
explorer_data = explorer_json(sizes=[8], kernels=[3, 5], strides=[1],
                              dilations=[1], paddings=["valid", "same"])
# --8<-- [end:explorer]


# --8<-- [start:stacked_reach]
for layers in (1, 2):
    counts = reach_through(layers, 8, 3)
    corner, centre = counts[0, 0], counts[4, 4]
    print(f"{layers} layer(s): corner {corner}, centre {centre}, "
          f"corner / centre = {corner / centre:.2f}, middle row {counts[4]}")
# --8<-- [end:stacked_reach]


# --8<-- [start:stacked_reach_claim]
def corner_share(counts):
    return counts[0, 0] / counts[4, 4]


def band_width(counts):
    """How many pixels in from the edge a middle row's count stays below the
    count of the image's centre."""
    middle_row = counts[counts.shape[0] // 2]
    return int((middle_row < counts.max()).sum() // 2)


one_layer, two_layers = reach_through(1, 8, 3), reach_through(2, 8, 3)
bool(
    band_width(one_layer) == 1 and band_width(two_layers) == 2
    and corner_share(two_layers) < corner_share(one_layer)
)
# --8<-- [end:stacked_reach_claim]
