"""Home page: the short answer, shown with Keras layers and tf.GradientTape."""

# --8<-- [start:setup]
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from snippets.padding import same_padding
from snippets.show import image, taps

rng = np.random.default_rng(0)
# --8<-- [end:setup]


# --8<-- [start:layers]
x = tf.constant(rng.integers(-3, 4, size=(1, 5, 5, 1)), tf.float32)  # NHWC
kernel = rng.integers(1, 4, size=(3, 3, 1, 1)).astype("float32")  # HWIO


def conv_layer(padding):
    return keras.layers.Conv2D(
        filters=1, kernel_size=3, padding=padding, use_bias=False,
        kernel_initializer=keras.initializers.Constant(kernel),
    )


zero_pad = keras.layers.ZeroPadding2D(padding=1)
conv_valid = conv_layer("valid")
conv_same = conv_layer("same")
print("x:", image(x), "kernel:", taps(kernel), sep="\n")
# --8<-- [end:layers]


# --8<-- [start:gradients]
with tf.GradientTape(persistent=True) as tape:
    tape.watch(x)
    x_padded = zero_pad(x)
    # summing the outputs makes every upstream gradient 1
    loss_padded = tf.reduce_sum(conv_valid(x_padded))
    loss_same = tf.reduce_sum(conv_same(x))

dx_padded, dx = tape.gradient(loss_padded, [x_padded, x])
dx_same = tape.gradient(loss_same, x)

print("gradient w.r.t. the padded tensor:")
print(image(dx_padded))
# --8<-- [end:gradients]


# --8<-- [start:border_is_not_zero]
border = np.ones(dx_padded.shape, dtype=bool)
border[:, 1:-1, 1:-1, :] = False
bool(np.all(dx_padded.numpy()[border] != 0))
# --8<-- [end:border_is_not_zero]


# --8<-- [start:gradient_is_a_crop]
bool(np.array_equal(dx, dx_padded[:, 1:-1, 1:-1, :]))
# --8<-- [end:gradient_is_a_crop]


# --8<-- [start:same_conv_agrees]
bool(np.array_equal(dx, dx_same))
# --8<-- [end:same_conv_agrees]


# --8<-- [start:uneven_padding]
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


def pad_then_valid_agrees(size, kernel_size, strides):
    """ZeroPadding2D by TensorFlow's "same" amounts, then Conv2D("valid"),
    against Conv2D("same"): do y, dx and dkernel agree?"""
    x = tf.constant(rng.normal(size=(1, size, size, 1)), tf.float32)
    weights = rng.normal(size=(kernel_size, kernel_size, 1, 1))
    pads = same_padding(size, kernel_size, strides)
    options = dict(filters=1, kernel_size=kernel_size, strides=strides,
                   use_bias=False)
    two_steps = output_and_gradients(
        [keras.layers.ZeroPadding2D((pads, pads)),
         keras.layers.Conv2D(padding="valid", **options)], x, weights, size)
    fused = output_and_gradients(
        [keras.layers.Conv2D(padding="same", **options)], x, weights, size)
    return pads, [bool(np.allclose(a, b, atol=1e-5))
                  for a, b in zip(two_steps, fused)]


uneven = {
    "4x4 kernel, stride 1, 5x5 input": pad_then_valid_agrees(5, 4, 1),
    "3x3 kernel, stride 2, 6x6 input": pad_then_valid_agrees(6, 3, 2),
}
print(f"{'':32} (before, after)  y, dx, dkernel agree")
for case, (pads, agree) in uneven.items():
    print(f"{case:32} {pads!s:16} {agree}")
# --8<-- [end:uneven_padding]


# --8<-- [start:uneven_padding_claim]
all(pads[0] != pads[1] and all(agree) for pads, agree in uneven.values())
# --8<-- [end:uneven_padding_claim]


# --8<-- [start:figure_helper]
def show_grid(ax, values, title, shaded=None):
    """Draw a 2-D array as numbered cells; grey out the `shaded` ones."""
    ax.imshow(values, cmap="Blues", alpha=0.8, vmin=0, vmax=2 * values.max())
    if shaded is not None:
        grey = np.where(shaded, 1.0, np.nan)
        ax.imshow(grey, cmap="Greys", vmin=0, vmax=2, alpha=0.6)
    for (row, col), value in np.ndenumerate(values):
        ax.text(col, row, f"{value:g}", ha="center", va="center", fontsize=9)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
# --8<-- [end:figure_helper]


# --8<-- [start:figure]
fig, axes = plt.subplots(1, 3, figsize=(7.5, 3.7), width_ratios=[7, 5, 5])
show_grid(
    axes[0], image(dx_padded), "w.r.t. the padded tensor\n(grey: padding)",
    shaded=border[0, :, :, 0],
)
show_grid(axes[1], image(dx), "reaching x:\nthe centre, cropped")
show_grid(axes[2], image(dx_same), "input gradient of\nConv2D(padding='same')")
fig.tight_layout()
# --8<-- [end:figure]
