"""Home page: the short answer, shown with Keras layers and tf.GradientTape."""

# --8<-- [start:setup]
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from snippets.show import image, taps, write_values

rng = np.random.default_rng(0)
# --8<-- [end:setup]


# --8<-- [start:layers]
x = tf.constant(rng.integers(-3, 4, size=(1, 5, 5, 1)), tf.float32)  # NHWC
kernel = rng.integers(-2, 3, size=(3, 3, 1, 1)).astype("float32")  # HWIO
dy = tf.constant(rng.integers(-2, 3, size=(1, 5, 5, 1)), tf.float32)  # upstream


def conv_layer(padding):
    return keras.layers.Conv2D(
        filters=1, kernel_size=3, padding=padding, use_bias=False,
        kernel_initializer=keras.initializers.Constant(kernel),
    )


zero_pad = keras.layers.ZeroPadding2D(padding=1)
conv_valid = conv_layer("valid")
conv_same = conv_layer("same")
print("x:", image(x), "kernel:", taps(kernel), "dy:", image(dy), sep="\n")
# --8<-- [end:layers]


# --8<-- [start:gradients]
with tf.GradientTape(persistent=True) as tape:
    tape.watch(x)
    x_padded = zero_pad(x)
    y_padded = conv_valid(x_padded)
    y_same = conv_same(x)

dx_padded, dx = tape.gradient(y_padded, [x_padded, x], output_gradients=dy)
dx_same = tape.gradient(y_same, x, output_gradients=dy)

print("gradient w.r.t. the padded tensor:")
print(image(dx_padded))
# --8<-- [end:gradients]


# --8<-- [start:border_is_not_zero]
border = np.ones(dx_padded.shape, dtype=bool)
border[:, 1:-1, 1:-1, :] = False
border_non_zero = int(np.count_nonzero(dx_padded.numpy()[border]))
border_non_zero > border.sum() / 2
# --8<-- [end:border_is_not_zero]


# --8<-- [start:gradient_is_a_crop]
# TensorFlow's gradient of Pad is that crop by definition (a Slice), so the
# check is the fused layer, which pads nothing: its dx and y are computed apart
cropped = dx_padded[:, 1:-1, 1:-1, :]
bool(np.array_equal(dx_same, cropped) and np.array_equal(y_same, y_padded))
# --8<-- [end:gradient_is_a_crop]


# --8<-- [start:figure_helper]
def show_grid(ax, values, title, shaded=None):
    """Draw a 2-D array as numbered cells; grey out the `shaded` ones."""
    limit = 2 * np.abs(values).max()
    ax.imshow(values, cmap="RdBu", alpha=0.6, vmin=-limit, vmax=limit)
    if shaded is not None:
        grey = np.where(shaded, 1.0, np.nan)
        ax.imshow(grey, cmap="Greys", vmin=0, vmax=2, alpha=0.6)
    write_values(ax, values, fontsize=9)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def draw_gradients(dx_padded, dx, dx_same, border):
    """The three gradients side by side, the padded one with its border grey."""
    fig, axes = plt.subplots(1, 3, figsize=(7.5, 3.7), width_ratios=[7, 5, 5])
    show_grid(axes[0], dx_padded, "w.r.t. the padded tensor\n(grey: padding)", shaded=border)
    show_grid(axes[1], dx, "reaching x:\nthe centre, cropped")
    show_grid(axes[2], dx_same, "input gradient of\nConv2D(padding='same')")
    fig.tight_layout()
    return fig
# --8<-- [end:figure_helper]


# --8<-- [start:figure]
fig = draw_gradients(image(dx_padded), image(dx), image(dx_same), border[0, :, :, 0])
# --8<-- [end:figure]


# --8<-- [start:backward_ops]
def traced_ops(layer, x_shape):
    """Every op TensorFlow traces for the layer's forward pass and its
    gradients w.r.t. input and kernel, as (type, padding attribute or None)."""
    @tf.function
    def gradients(x, dy):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        return tape.gradient(y, [x, layer.kernel], output_gradients=dy)

    y_shape = layer.compute_output_shape(x_shape)
    graph = gradients.get_concrete_function(
        tf.TensorSpec(x_shape), tf.TensorSpec(y_shape)).graph
    return [(op.type, op.get_attr("padding").decode()
             if "padding" in op.node_def.attr else None)
            for op in graph.get_operations()]


ops = traced_ops(conv_same, x.shape)
conv_ops = [(kind, padding) for kind, padding in ops if padding is not None]
conv_ops
# --8<-- [end:backward_ops]


# --8<-- [start:backward_ops_claim]
def traced_kinds(**options):
    """The op types traced for a 3x3 'same' Conv2D with these options, in
    order, plumbing (constants, shapes, reads, identities) left out."""
    layer = keras.layers.Conv2D(padding="same", kernel_size=3, use_bias=False,
                                **options)
    layer.build((1, 8, 8, 2))
    plumbing = {"Placeholder", "Const", "Identity", "ReadVariableOp",
                "Shape", "ShapeN", "NoOp"}
    return [(kind, padding) for kind, padding in traced_ops(layer, (1, 8, 8, 2))
            if kind not in plumbing]


op_types = {kind for kind, _ in ops}
dilated = traced_kinds(filters=1, dilation_rate=2)
grouped = traced_kinds(filters=2, groups=2)
(
    conv_ops == [("Conv2D", "SAME"), ("Conv2DBackpropInput", "SAME"),
                 ("Conv2DBackpropFilter", "SAME")]
    and not op_types & {"Pad", "PadV2", "Slice", "StridedSlice"}
    and [kind for kind, _ in dilated] == [
        "SpaceToBatchND", "Conv2D", "BatchToSpaceND", "SpaceToBatchND",
        "Conv2DBackpropInput", "Conv2DBackpropFilter", "BatchToSpaceND"]
    and {padding for _, padding in dilated if padding} == {"VALID"}
    and grouped
    and {kind for kind, _ in grouped} <= {"PartitionedCall", "StatefulPartitionedCall"}
)
# --8<-- [end:backward_ops_claim]
