"""The padding op's own gradient: zero padding back-propagates as a crop,
mirror padding as a crop plus the copies folded back."""

# --8<-- [start:setup]
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from docexec.checks import grid, over
from snippets.show import image, write_values

rng = np.random.default_rng(1)
# --8<-- [end:setup]


# --8<-- [start:zero_padding_2d]
x = tf.constant(rng.integers(-3, 4, size=(1, 4, 4, 1)), tf.float32)
# ((top, bottom), (left, right))
zero_pad = keras.layers.ZeroPadding2D(padding=((1, 2), (0, 1)))

with tf.GradientTape() as tape:
    tape.watch(x)
    x_padded = zero_pad(x)
# any upstream gradient will do
dy = tf.constant(rng.integers(1, 10, size=x_padded.shape), tf.float32)
dx = tape.gradient(x_padded, x, output_gradients=dy)

print("upstream gradient dy, shape", tuple(dy.shape))
print(image(dy))
print("gradient reaching x, shape", tuple(dx.shape))
print(image(dx))
# --8<-- [end:zero_padding_2d]


# --8<-- [start:zero_padding_is_a_crop]
bool(np.array_equal(dx, dy[:, 1:-2, 0:-1, :]))
# --8<-- [end:zero_padding_is_a_crop]


# --8<-- [start:backward_ops]
PLUMBING = {"Placeholder", "Const", "Identity", "Pack", "Reshape"}


def traced(pad, x_shape, dy_shape):
    """The graph TensorFlow traces for pad and its gradient."""
    @tf.function
    def gradient(x, dy):
        with tf.GradientTape() as tape:
            tape.watch(x)
            x_padded = pad(x)
        return tape.gradient(x_padded, x, output_gradients=dy)

    specs = tf.TensorSpec(x_shape), tf.TensorSpec(dy_shape)
    return gradient.get_concrete_function(*specs).graph


def backward_ops(pad, x_shape, dy_shape):
    """The operations TensorFlow runs for pad and its gradient."""
    return [op.type for op in traced(pad, x_shape, dy_shape).get_operations()
            if op.type not in PLUMBING]


paddings = [[0, 0], [1, 2], [0, 1], [0, 0]]  # the same as zero_pad's
for name, pad in [
    ("ZeroPadding2D", zero_pad),
    ("tf.pad CONSTANT 7",
     lambda x: tf.pad(x, paddings, "CONSTANT", constant_values=7.0)),
    ("tf.pad REFLECT", lambda x: tf.pad(x, paddings, "REFLECT")),
]:
    print(f"{name:18} {backward_ops(pad, x.shape, dy.shape)}")
# --8<-- [end:backward_ops]


# --8<-- [start:no_mask_in_backward]
graph = traced(zero_pad, x.shape, dy.shape)
ops = [op.type for op in graph.get_operations()]
dy_fed = graph.get_operation_by_name("dy").outputs[0]  # the upstream gradient
crops_of_dy = [op for op in graph.get_operations() if op.type == "Slice"
               and op.inputs[0] is dy_fed and op.outputs[0].shape == x.shape]
len(crops_of_dy) == 1 and not {"Mul", "Select", "SelectV2", "Where"} & set(ops)
# --8<-- [end:no_mask_in_backward]


# --8<-- [start:mirror_modes]
def pad_gradient_tf(x, dy, paddings, **pad_options):
    with tf.GradientTape() as tape:
        tape.watch(x)
        x_padded = tf.pad(x, paddings, **pad_options)
    return tape.gradient(x_padded, x, output_gradients=dy)


x_square = tf.constant(rng.integers(-3, 4, size=(1, 4, 4, 1)), tf.float32)
one_each_side = [[0, 0], [1, 1], [1, 1], [0, 0]]
ones = tf.ones((1, 6, 6, 1))  # upstream gradient 1 on every cell
mode_gradients = {
    mode: image(pad_gradient_tf(x_square, ones, one_each_side, mode=mode))
    for mode in ("CONSTANT", "REFLECT", "SYMMETRIC")
}
for mode, gradient in mode_gradients.items():
    print(mode)
    print(gradient)
# --8<-- [end:mirror_modes]


# --8<-- [start:reflect_claim]
reflect = mode_gradients["REFLECT"]
per_axis = np.array([1, 2, 2, 1])  # each pixel one step in from an edge is copied once more
bool(np.array_equal(reflect, np.outer(per_axis, per_axis)))
# --8<-- [end:reflect_claim]


# --8<-- [start:symmetric_claim]
symmetric = mode_gradients["SYMMETRIC"]
per_axis = np.array([2, 1, 1, 2])  # each edge pixel is copied once more
bool(np.array_equal(symmetric, np.outer(per_axis, per_axis)))
# --8<-- [end:symmetric_claim]


# --8<-- [start:mirror_figure_drawing]
def draw_mode_gradients(gradients):
    """One heat map per padding mode, each number written in its cell."""
    fig, axes = plt.subplots(1, len(gradients), figsize=(7.5, 3.0))
    for ax, (mode, gradient) in zip(axes, gradients.items()):
        ax.imshow(gradient, cmap="Blues", vmin=0, vmax=6)
        write_values(ax, gradient, fontsize=11)
        ax.set_title(f"tf.pad {mode}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("gradient reaching each input pixel when every cell of the "
                 "padded tensor sends back 1", fontsize=10)
    fig.tight_layout()
    return fig
# --8<-- [end:mirror_figure_drawing]


# --8<-- [start:mirror_figure]
fig = draw_mode_gradients(mode_gradients)
# --8<-- [end:mirror_figure]


# --8<-- [start:pad_adjoint]
def pad_adjoint(dy, x_shape, paddings, mode):
    """Send each padded cell's gradient back to the pixel it was copied from.

    np.pad of the pixels' own indices records where each cell came from; a
    constant cell came from nowhere (-1), so its gradient goes nowhere.
    """
    source = np.arange(np.prod(x_shape)).reshape(x_shape)
    if mode == "constant":
        source = np.pad(source, paddings, mode, constant_values=-1)
    else:
        source = np.pad(source, paddings, mode)
    copied = source >= 0
    dx = np.bincount(source[copied], weights=np.asarray(dy)[copied],
                     minlength=np.prod(x_shape))
    return dx.reshape(x_shape)
# --8<-- [end:pad_adjoint]


# --8<-- [start:pad_adjoint_matches_tf]
def adjoint_matches_tf(mode, rows, columns, constant=0.0):
    """Ours against TensorFlow's gradient of tf.pad, for a random dy."""
    widths = [[0, 0], list(rows), list(columns), [0, 0]]
    padded_shape = (1, 4 + sum(rows), 4 + sum(columns), 1)
    dy = rng.normal(size=padded_shape)
    ours = pad_adjoint(dy, x.shape, widths, mode.lower())
    theirs = pad_gradient_tf(x, tf.constant(dy, tf.float32), widths, mode=mode,
                             constant_values=constant)
    return np.allclose(ours, theirs, atol=1e-5)


sides = dict(rows=((1, 1), (1, 2), (0, 3)), columns=((0, 1), (2, 2)))
over(grid(mode=("CONSTANT",), constant=(0.0, 7.0), **sides)
     + grid(mode=("REFLECT", "SYMMETRIC"), **sides),
     adjoint_matches_tf)
# --8<-- [end:pad_adjoint_matches_tf]
