"""Forward pass page: "valid" vs "same", TensorFlow's "same" rule, and where
the `(k - 1) // 2` rule of thumb differs from it."""

# --8<-- [start:setup]
import inspect
import re
import textwrap

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from matplotlib.patches import Rectangle

from docexec.checks import grid, over

from snippets import keras_ref
from snippets.padding import output_size, same_padding
from snippets.show import image


def zero_pad(x, before, after):
    """Zeros around the two spatial axes of an NHWC batch."""
    return np.pad(x, ((0, 0), (before, after), (before, after), (0, 0)))
# --8<-- [end:setup]


# --8<-- [start:valid_vs_same]
x = np.arange(1.0, 26.0).reshape(1, 5, 5, 1)  # a 5x5 image (NHWC)
kernel = np.ones((3, 3, 1, 1))  # each output sums its window (HWIO)

y_valid = keras_ref.conv2d(x, kernel, padding="valid")
y_same = keras_ref.conv2d(x, kernel, padding="same")
print("valid", y_valid.shape[1:3])
print(image(y_valid))
print("same ", y_same.shape[1:3])
print(image(y_same))
# --8<-- [end:valid_vs_same]


# --8<-- [start:same_keeps_size]
interior = y_same[:, 1:-1, 1:-1, :]
y_same.shape == x.shape and bool(np.array_equal(interior, y_valid))
# --8<-- [end:same_keeps_size]


# --8<-- [start:same_table]
cases = [  # (size, kernel_size, stride, dilation)
    (5, 3, 1, 1), (5, 4, 1, 1), (5, 3, 2, 1), (6, 3, 2, 1),
    (6, 4, 2, 1), (7, 3, 1, 2), (4, 5, 1, 1), (7, 2, 3, 1),
]
print(" n  k  s  d | output  before  after")
for n, k, s, d in cases:
    before, after = same_padding(n, k, s, d)
    out = output_size(n, k, s, "same", d)
    print(f"{n:2} {k:2} {s:2} {d:2} | {out:6}  {before:6}  {after:5}")
# --8<-- [end:same_table]


# --8<-- [start:same_is_pad_then_valid]
def output_and_gradients(layers, x, weights, seed):
    """y, dx and dkernel of `layers` (the last is the Conv2D) for a random dy."""
    model = keras.Sequential(layers)
    model.build(x.shape)
    model.layers[-1].kernel.assign(weights)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = model(x)
    dy = tf.constant(np.random.default_rng(seed).normal(size=y.shape), tf.float32)
    dx, dkernel = tape.gradient(y, [x, model.layers[-1].kernel], dy)
    return y, dx, dkernel


def pad_then_valid(x, weights, pads, options, seed=0):
    """ZeroPadding2D by `pads` = ((top, bottom), (left, right)), then 'valid'."""
    return output_and_gradients(
        [keras.layers.ZeroPadding2D(pads),
         keras.layers.Conv2D(padding="valid", **options)], x, weights, seed)


def agree(a, b):
    return a.shape == b.shape and np.allclose(a, b, atol=1e-5)


def same_output(fused_y, x, weights, pads, options):
    """Does pad_then_valid by `pads` give `fused_y`? No when Keras refuses the layer because
    the padded input is shorter than the kernel's span (no output at all)."""
    try:
        return agree(fused_y, pad_then_valid(x, weights, pads, options)[0])
    except ValueError as error:
        if "zero or negative" not in str(error):
            raise
        return False


def per_axis(value):
    """(rows, columns) of a size, kernel size, stride or dilation."""
    return (value, value) if np.ndim(value) == 0 else tuple(value)


def wrong_pads(rows, columns):
    """Fewer zeros on some side: one zero fewer on a side of one axis, an
    uneven split swapped, or one axis's amounts used on both axes."""
    def near(before, after):
        return {(before - 1, after), (before, after - 1), (after, before)}

    wrong = ({(other, columns) for other in near(*rows)}
             | {(rows, other) for other in near(*columns)}
             | {(rows, rows), (columns, columns)})
    right = (*rows, *columns)
    return [pads for pads in wrong
            if min(min(pads)) >= 0
            and any(zeros < needed for zeros, needed in zip((*pads[0], *pads[1]), right))]


def same_is_pad_then_valid(size, kernel_size, strides, dilation):
    """Conv2D('same') against ZeroPadding2D by same_padding's (before, after),
    each axis its own, then 'valid': y, dx and dkernel agree; with wrong_pads,
    y does not."""
    axes = [per_axis(value) for value in (size, kernel_size, strides, dilation)]
    (height, width), kernel_hw = axes[0], axes[1]
    seeded = np.random.default_rng([value for pair in axes for value in pair])
    x = tf.constant(seeded.normal(size=(1, height, width, 1)), tf.float32)
    weights = seeded.normal(size=(*kernel_hw, 1, 1))
    options = dict(filters=1, kernel_size=kernel_size, strides=strides,
                   dilation_rate=dilation, use_bias=False)
    fused = output_and_gradients(
        [keras.layers.Conv2D(padding="same", **options)], x, weights, height)
    rows, columns = (same_padding(*axis) for axis in zip(*axes))
    two_steps = pad_then_valid(x, weights, (rows, columns), options, height)
    return all(agree(a, b) for a, b in zip(fused, two_steps)) and not any(
        same_output(fused[0], x, weights, pads, options)
        for pads in wrong_pads(rows, columns))


# Keras refuses a stride > 1 together with a dilation > 1
configurations = [
    c for c in grid(size=range(1, 8), kernel_size=range(1, 6),
                    strides=(1, 2, 3), dilation=(1, 2))
    if keras_ref.keras_accepts(c["strides"], c["dilation"])
] + [  # non-square: (rows, columns)
    dict(size=(5, 6), kernel_size=3, strides=2, dilation=1),
    dict(size=(5, 7), kernel_size=(2, 5), strides=1, dilation=1),
    dict(size=(6, 7), kernel_size=(3, 4), strides=(2, 1), dilation=1),
    dict(size=(7, 5), kernel_size=(4, 2), strides=(1, 3), dilation=1),
    dict(size=(6, 6), kernel_size=(2, 3), strides=(3, 2), dilation=1),
    dict(size=(7, 6), kernel_size=3, strides=1, dilation=(1, 2)),
]
over(configurations, same_is_pad_then_valid)
# --8<-- [end:same_is_pad_then_valid]


# --8<-- [start:keras_docstring]
def documented_padding(layer_class):
    """The `padding` entry of a Keras layer's docstring, as installed."""
    doc = inspect.cleandoc(layer_class.__doc__ or "")
    entry = re.search(r"^ *padding: .*?(?=^ *\w+: )", doc, re.M | re.S)
    if entry is None:
        raise ValueError(f"{layer_class.__name__}'s docstring has no 'padding:' "
                         f"entry followed by another argument")
    return " ".join(entry.group(0).split())


docstring = documented_padding(keras.layers.Conv2D)
print(f"keras {keras.__version__}, keras.layers.Conv2D.__doc__:")
print(textwrap.fill(docstring, 72))
# --8<-- [end:keras_docstring]


# --8<-- [start:keras_docstring_claim]
uneven_rows = [case for case in cases
               if same_padding(*case)[1] == same_padding(*case)[0] + 1]
"evenly" in docstring and len(uneven_rows) > 0 and all(
    same_is_pad_then_valid(*case) for case in uneven_rows)
# --8<-- [end:keras_docstring_claim]


# --8<-- [start:even_kernel]
kernel_4 = np.ones((4, 4, 1, 1))
y_same_4 = keras_ref.conv2d(x, kernel_4, padding="same")
extra_after = keras_ref.conv2d(zero_pad(x, 1, 2), kernel_4)  # 'valid'
extra_before = keras_ref.conv2d(zero_pad(x, 2, 1), kernel_4)
print("same_padding(5, 4) =", same_padding(5, 4))
print("Keras 'same' == 1 zero before, 2 after:",
      np.allclose(y_same_4, extra_after))
print("Keras 'same' == 2 zeros before, 1 after:",
      np.allclose(y_same_4, extra_before))
# --8<-- [end:even_kernel]


# --8<-- [start:even_kernel_claim]
(
    same_padding(5, 4) == (1, 2)
    and np.allclose(y_same_4, extra_after)
    and not np.allclose(y_same_4, extra_before)
)
# --8<-- [end:even_kernel_claim]


# --8<-- [start:grid_drawing]
INPUT, ZERO, WINDOW = "#9ecae1", "#e0e0e0", "#d62728"


def draw_padded_grid(ax, n, k, s):
    """The input (blue) inside its 'same' zeros (grey), with the kernel's
    first window (solid) and last window (dashed)."""
    before, after = same_padding(n, k, s)
    size = before + n + after
    for row in range(size):
        for col in range(size):
            inside = before <= row < before + n and before <= col < before + n
            ax.add_patch(Rectangle((col, row), 1, 1, edgecolor="white",
                                   facecolor=INPUT if inside else ZERO))
            if not inside:
                ax.text(col + 0.5, row + 0.5, "0", ha="center", va="center",
                        color="#666", fontsize=8)
    last = (output_size(n, k, s, "same") - 1) * s
    for start, style in [(0, "-"), (last, "--")]:
        ax.add_patch(Rectangle((start, start), k, k, fill=False, linewidth=2.5,
                               edgecolor=WINDOW, linestyle=style))
    ax.set_xlim(-0.2, size + 0.2)
    ax.set_ylim(size + 0.2, -0.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"n={n}, k={k}, stride {s}\n"
                 f"before={before}, after={after}", fontsize=10)


def add_legend(fig):
    fig.legend(handles=[
        Rectangle((0, 0), 1, 1, facecolor=INPUT, label="input pixel"),
        Rectangle((0, 0), 1, 1, facecolor=ZERO, label="zero from 'same'"),
        Rectangle((0, 0), 1, 1, fill=False, edgecolor=WINDOW, linewidth=2,
                  label="first window"),
        Rectangle((0, 0), 1, 1, fill=False, edgecolor=WINDOW, linewidth=2,
                  linestyle="--", label="last window"),
    ], loc="lower center", ncol=2, frameon=False)


def draw_padded_grids(layers):
    """One grid per (n, k, s), side by side, over one legend."""
    fig, axes = plt.subplots(1, len(layers), figsize=(7.5, 3.9))
    for ax, (n, k, s) in zip(axes, layers):
        draw_padded_grid(ax, n, k, s)
    add_legend(fig)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    return fig
# --8<-- [end:grid_drawing]


# --8<-- [start:grid_figure]
fig = draw_padded_grids([(5, 3, 1), (5, 4, 1), (6, 3, 2)])
# --8<-- [end:grid_figure]


# --8<-- [start:naive_rule]
def naive_same(x, kernel, strides=1):
    """The rule of thumb: (k - 1) // 2 zeros on every side, then 'valid'."""
    pad = (kernel.shape[0] - 1) // 2
    return keras_ref.conv2d(zero_pad(x, pad, pad), kernel, strides, "valid")
# --8<-- [end:naive_rule]


# --8<-- [start:naive_even_kernel]
naive_4 = naive_same(x, kernel_4)
print("rule of thumb:", naive_4.shape, "  Keras 'same':", y_same_4.shape)
# --8<-- [end:naive_even_kernel]


# --8<-- [start:naive_even_kernel_claim]
def rule_is_one_output_short(size, kernel_size):
    """Stride 1, even k: Keras's 'same' keeps the size, the rule gives one fewer."""
    seeded = np.random.default_rng([size, kernel_size])
    x = seeded.normal(size=(1, size, size, 1))
    k = seeded.normal(size=(kernel_size, kernel_size, 1, 1))
    keras_y = keras_ref.conv2d(x, k, padding="same")
    return (keras_y.shape[1:3] == (size, size)
            and naive_same(x, k).shape[1:3] == (size - 1, size - 1))


naive_4.shape != y_same_4.shape and over(
    grid(size=(8, 9, 12), kernel_size=(2, 4, 6, 8)), rule_is_one_output_short)
# --8<-- [end:naive_even_kernel_claim]


# --8<-- [start:naive_stride_2]
x_6 = np.arange(1.0, 37.0).reshape(1, 6, 6, 1)
naive_s2 = naive_same(x_6, kernel, strides=2)
keras_s2 = keras_ref.conv2d(x_6, kernel, strides=2, padding="same")
print("rule of thumb", naive_s2.shape[1:3])
print(image(naive_s2))
print("Keras 'same' ", keras_s2.shape[1:3])
print(image(keras_s2))
# --8<-- [end:naive_stride_2]


# --8<-- [start:naive_stride_2_claim]
def rule_starts_one_pixel_early(size, kernel_size):
    """Stride 2, odd k, even size: the rule gives Keras's shape, and Keras's
    'same' is 'valid' after one zero fewer before the input than the rule."""
    seeded = np.random.default_rng([size, kernel_size])
    x = seeded.normal(size=(1, size, size, 1))
    k = seeded.normal(size=(kernel_size, kernel_size, 1, 1))
    pad = (kernel_size - 1) // 2
    keras_y = keras_ref.conv2d(x, k, strides=2, padding="same")
    one_pixel_later = keras_ref.conv2d(zero_pad(x, pad - 1, pad), k, 2, "valid")
    return (naive_same(x, k, strides=2).shape == keras_y.shape
            and keras_y.shape == one_pixel_later.shape
            and np.allclose(keras_y, one_pixel_later, atol=1e-4))


(naive_s2.shape == keras_s2.shape and bool(np.all(~np.isclose(naive_s2, keras_s2)))
 and over(grid(size=(4, 8, 12), kernel_size=(3, 5, 7, 9)), rule_starts_one_pixel_early))
# --8<-- [end:naive_stride_2_claim]
