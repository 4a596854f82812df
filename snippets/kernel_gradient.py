"""Kernel gradient page: padded zeros add exact-zero terms, yet padding changes
the kernel gradient by adding output positions."""

# --8<-- [start:setup]
import matplotlib.pyplot as plt
import numpy as np

from docexec.checks import grid, over
from snippets import keras_ref
from snippets.conv import sum_over_padded_input
from snippets.padding import same_padding
from snippets.show import image, taps, write_values

rng = np.random.default_rng(3)
# --8<-- [end:setup]


# --8<-- [start:problem]
x = rng.integers(-3, 4, size=(1, 5, 5, 1)).astype(float)  # NHWC
kernel_shape = (3, 3, 1, 1)  # HWIO; the gradient does not use the weights
dy_same = rng.integers(-2, 3, size=(1, 5, 5, 1)).astype(float)  # per output

dkernel_keras = keras_ref.conv2d_grad_kernel(
    x, dy_same, kernel_shape, padding="same")
pads = same_padding(5, 3)  # (before, after) on each axis
dkernel_loop = sum_over_padded_input(x, dy_same, kernel_shape, strides=(1, 1),
                                     dilation=(1, 1), pads=(pads, pads))
print("Keras (tf.GradientTape):")
print(taps(dkernel_keras))
# --8<-- [end:problem]


# --8<-- [start:loop_claim]
np.allclose(dkernel_loop, dkernel_keras, atol=1e-5)
# --8<-- [end:loop_claim]


# --8<-- [start:tap_terms]
pad_before, pad_after = same_padding(5, 3)
x_padded = np.pad(image(x), (pad_before, pad_after))
is_padding = np.pad(np.zeros((5, 5), bool), (pad_before, pad_after),
                    constant_values=True)


def tap_terms(a, b):
    """Every term dy[i, j] * x_padded[i + a, j + b] that tap (a, b) of the
    kernel gradient adds up, and which of them read a padded zero."""
    h_out, w_out = image(dy_same).shape
    window = np.s_[a:a + h_out, b:b + w_out]
    return image(dy_same) * x_padded[window], is_padding[window]


terms, from_padding = tap_terms(0, 0)  # the top-left tap
print("terms of tap (0, 0):")
print(terms)
print("read a padded zero:")
print(from_padding.astype(int))
# --8<-- [end:tap_terms]


# --8<-- [start:tap_terms_claim]
def explicit_padding_gradient(constant):
    """Keras's kernel gradient when x is padded with `constant` by hand
    (the 'same' amounts), then convolved with 'valid'."""
    frame = ((0, 0), (pad_before, pad_after), (pad_before, pad_after), (0, 0))
    padded = np.pad(x, frame, constant_values=constant)
    return keras_ref.conv2d_grad_kernel(padded, dy_same, kernel_shape,
                                        padding="valid")


zeros, sevens = explicit_padding_gradient(0), explicit_padding_gradient(7)
print("padded with 7s by hand:")
print(taps(sevens))
bool(np.allclose(dkernel_keras, zeros, atol=1e-4)
     and not np.allclose(dkernel_keras, sevens, atol=1e-4))
# --8<-- [end:tap_terms_claim]


# --8<-- [start:same_vs_valid]
# 'valid' keeps the outputs whose window fits in x: the interior of 'same'
dy_valid = dy_same[:, 1:-1, 1:-1, :]
dkernel_valid = keras_ref.conv2d_grad_kernel(
    x, dy_valid, kernel_shape, padding="valid")
dkernel_same = dkernel_keras
print("'valid':")
print(taps(dkernel_valid))
print("'same':")
print(taps(dkernel_same))
# --8<-- [end:same_vs_valid]


# --8<-- [start:border_outputs]
# keep only the output positions that exist because of padding
dy_border_only = dy_same.copy()
dy_border_only[:, 1:-1, 1:-1, :] = 0
dkernel_border = keras_ref.conv2d_grad_kernel(
    x, dy_border_only, kernel_shape, padding="same")
print("from the border outputs alone:")
print(taps(dkernel_border))
# --8<-- [end:border_outputs]


# --8<-- [start:border_outputs_claim]
def border_outputs_make_the_difference(size, kernel_size, dilation):
    """Stride 1: is dkernel('same') - dkernel('valid') the kernel gradient of
    the outputs 'same' has beyond 'valid''s (shifted by the zeros before)?"""
    seeded = np.random.default_rng([size, kernel_size, dilation])
    x = seeded.integers(-3, 4, size=(1, size, size, 1))  # integers: float32
    shape = (kernel_size, kernel_size, 1, 1)  # sums them exactly, in any order
    dy = seeded.integers(-3, 4, size=(1, size, size, 1))  # 'same' keeps the size
    before, _ = same_padding(size, kernel_size, dilation=dilation)
    valid = size - (kernel_size - 1) * dilation
    shared = np.s_[:, before:before + valid, before:before + valid, :]
    border_only = dy.copy()
    border_only[shared] = 0

    def dkernel(dy, padding):
        return keras_ref.conv2d_grad_kernel(x, dy, shape, padding=padding,
                                            dilation=dilation)

    return np.array_equal(dkernel(dy, "same") - dkernel(dy[shared], "valid"),
                          dkernel(border_only, "same"))


over(grid(size=(7, 8), kernel_size=range(1, 5), dilation=(1, 2)),
     border_outputs_make_the_difference)
# --8<-- [end:border_outputs_claim]


# --8<-- [start:real_terms]
def real_terms_per_tap(size, kernel_size, padding):
    """How many terms of each tap's gradient read a real pixel: the kernel
    gradient when every input pixel and every upstream gradient is 1."""
    ones_x = np.ones((1, size, size, 1))
    out = size if padding == "same" else size - kernel_size + 1
    ones_dy = np.ones((1, out, out, 1))
    shape = (kernel_size, kernel_size, 1, 1)
    return taps(keras_ref.conv2d_grad_kernel(ones_x, ones_dy, shape,
                                             padding=padding))


real_same = real_terms_per_tap(5, 3, "same")
real_valid = real_terms_per_tap(5, 3, "valid")
# --8<-- [end:real_terms]


# --8<-- [start:real_terms_claim]
edge_taps = [real_same[0, 1], real_same[1, 0], real_same[1, 2], real_same[2, 1]]
corner_taps = [real_same[0, 0], real_same[0, 2], real_same[2, 0], real_same[2, 2]]
bool(
    real_same[1, 1] == 5 * 5  # every pixel of the input
    and max(corner_taps) < min(edge_taps)
    and max(edge_taps) < real_same[1, 1]
    and np.all(real_valid == real_valid[0, 0])
    and np.all(real_valid <= real_same)
)
# --8<-- [end:real_terms_claim]


# --8<-- [start:real_terms_figure_drawing]
def draw_tap_counts(counts_by_padding):
    """One 3x3 grid of counts per padding, each number written in its cell."""
    fig, axes = plt.subplots(1, len(counts_by_padding), figsize=(7, 3.4))
    for ax, (name, counts) in zip(axes, counts_by_padding.items()):
        ax.imshow(counts, cmap="Blues", vmin=0, vmax=30)
        write_values(ax, counts, fontsize=12)
        ax.set_title(f"padding='{name}'", fontsize=10)
        ax.set_xticks(range(3), [f"b={b}" for b in range(3)])
        ax.set_yticks(range(3), [f"a={a}" for a in range(3)])
    fig.suptitle("real (non-padding) pixels read by each kernel tap", fontsize=10)
    fig.tight_layout()
    return fig
# --8<-- [end:real_terms_figure_drawing]


# --8<-- [start:real_terms_figure]
fig = draw_tap_counts({"valid": real_valid, "same": real_same})
# --8<-- [end:real_terms_figure]
