"""Data padding page: zero-padded batches of sequences, what Keras 3's
Conv1D does with them and with a Masking layer's mask, how padded steps leak
into real outputs and gradients, and three fixes, each checked against the
sequences run alone."""

# --8<-- [start:setup]
import inspect
import textwrap
import warnings

import matplotlib.pyplot as plt
import numpy as np
import keras
import tensorflow as tf

from docexec.checks import grid, over
from snippets.padding import same_padding

rng = np.random.default_rng(0)
# read from the installed Keras, for the page's causal tip
pad_sequences_default = inspect.signature(keras.utils.pad_sequences).parameters["padding"].default
# --8<-- [end:setup]


# --8<-- [start:batch]
sequences = [rng.normal(size=(5, 1)), rng.normal(size=(3, 1))]
lengths = np.array([len(sequence) for sequence in sequences])
x = keras.utils.pad_sequences(sequences, padding="post", dtype="float32")
real = np.arange(x.shape[1]) < lengths[:, None]
step_mask = real.astype("float32")  # 1 = real step, 0 = padded
print("batch, one row per sequence:", x[..., 0], sep="\n")
print("step mask:", step_mask, sep="\n")
# --8<-- [end:batch]


# --8<-- [start:masking_measured]
masking = keras.layers.Masking(mask_value=0.0)
conv_masked = keras.layers.Conv1D(
    1, 3, padding="same", name="conv",
    kernel_initializer=keras.initializers.GlorotUniform(seed=0),
)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    masked = masking(x)
    y_after_mask = conv_masked(masked)
for warning in caught:
    print(textwrap.fill(f"{warning.category.__name__}: {warning.message}", 72))
mask_before_conv = getattr(masked, "_keras_mask", None)
mask_after_conv = getattr(y_after_mask, "_keras_mask", None)
mask_in = keras.ops.convert_to_numpy(mask_before_conv).astype(int)
print("mask going into Conv1D:", mask_in.tolist())
print("mask coming out of Conv1D:", mask_after_conv)
# --8<-- [end:masking_measured]


# --8<-- [start:masking_claim]
destroys_mask_warning = [str(warning.message) for warning in caught
                         if issubclass(warning.category, UserWarning)
                         and "does not support masking" in str(warning.message)]
mask_was_there = mask_before_conv is not None
# Masked steps holding 5.0, not 0.0, with the same mask attached: a Conv1D
# that zeroed (or skipped) masked steps would give conv_masked(x) here.
filled = tf.convert_to_tensor(x + 5.0 * (1 - step_mask)[..., None])
filled_masked = tf.identity(filled)
filled_masked._keras_mask = mask_before_conv


def conv_and_mask_warning(tensor):
    """Conv1D's output, and whether this call warned that the layer drops a mask
    (it warns only when a mask reaches it: so the mask was delivered)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        y = keras.ops.convert_to_numpy(conv_masked(tensor))
    return y, any("does not support masking" in str(warning.message) for warning in seen)


y_filled_masked, mask_delivered = conv_and_mask_warning(filled_masked)
y_filled, warned_without_mask = conv_and_mask_warning(filled)
ignores_mask = (mask_delivered and not warned_without_mask
                and np.array_equal(y_filled_masked, y_filled)
                and not np.allclose(y_filled_masked, keras.ops.convert_to_numpy(conv_masked(x))))
len(destroys_mask_warning) == 1 and mask_was_there and mask_after_conv is None and ignores_mask
# --8<-- [end:masking_claim]


# --8<-- [start:pooling]
pool = keras.layers.GlobalAveragePooling1D()
pooled_masked = keras.ops.convert_to_numpy(pool(masked))[:, 0]
pooled_after_conv = keras.ops.convert_to_numpy(pool(y_after_mask))[:, 0]
conv_values = keras.ops.convert_to_numpy(y_after_mask)[..., 0]
mean_over_real_steps = (x[..., 0] * step_mask).sum(axis=1) / lengths
mean_over_all_steps = conv_values.mean(axis=1)
print("pooled straight after Masking:", pooled_masked)
print("  the mean over real steps:   ", mean_over_real_steps)
print("pooled after Conv1D:          ", pooled_after_conv)
print("  the mean over all steps:    ", mean_over_all_steps)
# --8<-- [end:pooling]


# --8<-- [start:pooling_claim]
real_only = np.allclose(pooled_masked, mean_over_real_steps, atol=1e-6)
real_only and np.allclose(pooled_after_conv, mean_over_all_steps, atol=1e-6)
# --8<-- [end:pooling_claim]


# --8<-- [start:layers]
def conv_layer(filters, channels_in, padding="same", kernel_size=3, dilation=1, random=rng):
    """A Conv1D with random kernel and bias: a trained bias is rarely zero."""
    layer = keras.layers.Conv1D(filters, kernel_size, padding=padding, dilation_rate=dilation)
    layer.build((None, None, channels_in))
    layer.kernel.assign(random.normal(size=(kernel_size, channels_in, filters)))
    layer.bias.assign(random.normal(size=(filters,)))
    return layer


def forward(x, layers, step_mask=None):
    """The layers in order; a step mask zeroes padded steps after each one."""
    y = tf.convert_to_tensor(x)
    for layer in layers:
        y = layer(y)
        if step_mask is not None:
            y = y * step_mask[..., None]
    return y


one_layer = [conv_layer(1, 1)]
two_layers = [conv_layer(4, 1), conv_layer(1, 4)]
# --8<-- [end:layers]


# --8<-- [start:bias_leak]
hidden = forward(x, two_layers[:1]).numpy()
print("first layer, short sequence, step by step (real steps first):")
print(hidden[1])
print("bias of that layer:", two_layers[0].bias.numpy())
# --8<-- [end:bias_leak]


# --8<-- [start:bias_leak_claim]
last_real = lengths[1] - 1
bias = two_layers[0].bias.numpy()
first_tap = two_layers[0].kernel.numpy()[0, 0]  # "same", kernel 3: step t reads t - 1, t, t + 1
reach = np.allclose(hidden[1, last_real + 1], bias + first_tap * x[1, last_real, 0], atol=1e-5)


def later_padded_steps_hold_the_bias(padded_steps):
    """The short sequence post-padded by 2 or more steps: 0 * w + b is exactly b."""
    padded = keras.utils.pad_sequences(sequences[1:], maxlen=lengths[1] + padded_steps,
                                       padding="post", dtype="float32")
    later = forward(padded, two_layers[:1]).numpy()[0, last_real + 2:]
    return np.array_equal(later, np.broadcast_to(bias, later.shape))


in_batch_later = hidden[1, last_real + 2:]
reach and np.array_equal(in_batch_later, np.broadcast_to(bias, in_batch_later.shape)) and over(
    grid(padded_steps=range(2, 8)), later_padded_steps_hold_the_bias)
# --8<-- [end:bias_leak_claim]


# --8<-- [start:alone]
def alone(layers, index):
    """The sequence run on its own, at its own length: the reference."""
    sequence = sequences[index][None].astype("float32")
    return forward(sequence, layers).numpy()[0, :, 0]


def in_batch(layers, index, step_mask=None):
    return forward(x, layers, step_mask).numpy()[index, : lengths[index], 0]


for name, layers in [("one layer", one_layer), ("two layers", two_layers)]:
    difference = np.abs(in_batch(layers, 1) - alone(layers, 1))
    print(f"{name}, |in batch - alone| at the real steps:", difference)
# --8<-- [end:alone]


# --8<-- [start:one_layer_claim]
def one_layer_leaves_real_steps(kernel_size, dilation, index, padded_steps):
    """A fresh stride-1 'same' Conv1D: a sequence post-padded with zeros against it alone."""
    layer = conv_layer(1, 1, "same", kernel_size, dilation, np.random.default_rng([kernel_size, dilation]))
    length = lengths[index]
    padded = keras.utils.pad_sequences(sequences[index:index + 1], maxlen=length + padded_steps,
                                       padding="post", dtype="float32")
    return np.allclose(forward(padded, [layer]).numpy()[0, :length, 0], alone([layer], index),
                       atol=1e-5)


over(grid(kernel_size=range(1, 6), dilation=(1, 2), index=(0, 1), padded_steps=(1, 2, 5)),
     one_layer_leaves_real_steps)
# --8<-- [end:one_layer_claim]


# --8<-- [start:stride_2]
strided = keras.layers.Conv1D(
    1, 3, strides=2, padding="same",
    kernel_initializer=keras.initializers.GlorotUniform(seed=1),
)
short = sequences[1][None].astype("float32")  # its 3 real steps
padded_to_4 = keras.utils.pad_sequences(short, maxlen=4, padding="post",
                                        dtype="float32")
y_alone = keras.ops.convert_to_numpy(strided(short))[0, :, 0]
y_padded_to_4 = keras.ops.convert_to_numpy(strided(padded_to_4))[0, :, 0]
for length, y in [(3, y_alone), (4, y_padded_to_4)]:
    before, after = same_padding(length, 3, 2)
    print(f"length {length}: 'same' pads ({before}, {after}), outputs {y}")
# --8<-- [end:stride_2]


# --8<-- [start:stride_2_claim]
as_many_outputs = y_alone.shape == y_padded_to_4.shape
as_many_outputs and bool(np.all(~np.isclose(y_alone, y_padded_to_4)))
# --8<-- [end:stride_2_claim]


# --8<-- [start:two_layer_claim]
not np.allclose(in_batch(two_layers, 1)[-1], alone(two_layers, 1)[-1], atol=1e-3)
# --8<-- [end:two_layer_claim]


# --8<-- [start:leak_figure_drawing]
def draw_leak(reference, leaky, fixed, length, padded_length):
    """The short sequence's outputs, step by step; its padded steps shaded."""
    fig, ax = plt.subplots(figsize=(6, 3))
    steps = np.arange(padded_length)
    ax.axvspan(length - 0.5, padded_length - 0.5, color="0.9", label="padded steps")
    ax.plot(steps[:length], reference, "o-", label="run alone (reference)")
    ax.plot(steps, leaky, "s--", label="in the padded batch")
    ax.plot(steps, fixed, "x:", ms=9, label="in the batch, masked after each layer")
    ax.set_xlabel("time step of the short sequence")
    ax.set_ylabel("output of two stacked Conv1D")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
    return fig
# --8<-- [end:leak_figure_drawing]


# --8<-- [start:leak_figure]
reference = alone(two_layers, 1)
leaky = forward(x, two_layers).numpy()[1, :, 0]
fixed = forward(x, two_layers, step_mask).numpy()[1, :, 0]
fig = draw_leak(reference, leaky, fixed, lengths[1], x.shape[1])
# --8<-- [end:leak_figure]


# --8<-- [start:losses]
targets = keras.utils.pad_sequences(
    [rng.normal(size=(n,)) for n in lengths], padding="post", dtype="float32"
)


def plain_loss(y, targets, step_mask):
    """Squared errors over every step, padded ones included, divided by the
    number of real steps: it differs from the masked loss by the padded terms only."""
    return tf.reduce_sum((y - targets) ** 2) / tf.reduce_sum(step_mask)


def masked_loss(y, targets, step_mask):
    """Mean squared error over real steps only."""
    squared_errors = step_mask * (y - targets) ** 2
    return tf.reduce_sum(squared_errors) / tf.reduce_sum(step_mask)
# --8<-- [end:losses]


# --8<-- [start:gradients]
def batch_gradients(layers, loss, mask_each_layer):
    """Gradients of the loss w.r.t. the input and every weight, padded batch."""
    x_tensor = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x_tensor)
        mask = step_mask if mask_each_layer else None
        y = forward(x_tensor, layers, mask)[..., 0]
        value = loss(y, targets, step_mask)
    weights = [w for layer in layers for w in layer.trainable_variables]
    return tape.gradient(value, [x_tensor] + weights)


def reference_gradients(layers):
    """Each sequence alone at its own length; squared errors summed, divided
    by the number of real steps in the batch."""
    inputs = [tf.constant(s[None].astype("float32")) for s in sequences]
    with tf.GradientTape(persistent=True) as tape:
        for x_alone in inputs:
            tape.watch(x_alone)
        errors = [
            forward(x_alone, layers)[0, :, 0] - targets[i, : lengths[i]]
            for i, x_alone in enumerate(inputs)
        ]
        value = sum(tf.reduce_sum(e**2) for e in errors) / lengths.sum()
    weights = [w for layer in layers for w in layer.trainable_variables]
    return tape.gradient(value, inputs), tape.gradient(value, weights)
# --8<-- [end:gradients]


# --8<-- [start:compare]
def matches_reference(layers, loss, mask_each_layer):
    """Do (input gradient at real steps, weight gradients) match the reference?"""
    dx, *dweights = batch_gradients(layers, loss, mask_each_layer)
    dx_alone, dweights_alone = reference_gradients(layers)
    inputs_match = all(
        np.allclose(dx[i, : lengths[i]], dx_alone[i][0], atol=1e-5)
        for i in range(len(sequences))
    )
    weights_match = all(
        np.allclose(ours, reference, atol=1e-5)
        for ours, reference in zip(dweights, dweights_alone)
    )
    return inputs_match, weights_match


variants = {
    "one layer, plain loss": (one_layer, plain_loss, False),
    "one layer, masked loss": (one_layer, masked_loss, False),
    "two layers, plain loss": (two_layers, plain_loss, False),
    "two layers, masked loss": (two_layers, masked_loss, False),
    "two layers, masked loss, mask after each": (two_layers, masked_loss, True),
}
results = {name: matches_reference(*v) for name, v in variants.items()}
print(f"{'':41} input grad  weight grads")
for name, (inputs_match, weights_match) in results.items():
    print(f"{name:41} {str(inputs_match):11} {weights_match}")
# --8<-- [end:compare]


# --8<-- [start:fixes_claim]
results == {"two layers, masked loss, mask after each": (True, True),
            "one layer, masked loss": (True, True),
            "two layers, masked loss": (False, False),
            "two layers, plain loss": (False, False),
            "one layer, plain loss": (False, False)}
# --8<-- [end:fixes_claim]


# --8<-- [start:true_zero]
# Three real steps, the second of which is a genuine 0.0, then one padded step.
with_true_zero = np.array([[[0.7], [0.0], [-1.2], [0.0]]], dtype="float32")
true_length = 3
mask = masking.compute_mask(with_true_zero)
mask_from_values = keras.ops.convert_to_numpy(mask)[0]
mask_from_length = np.arange(with_true_zero.shape[1]) < true_length
print("Masking(mask_value=0.0):", mask_from_values.astype(int))
print("from the length:        ", mask_from_length.astype(int))
# --8<-- [end:true_zero]


# --8<-- [start:true_zero_claim]
bool(mask_from_values[1]) is False
# --8<-- [end:true_zero_claim]


# --8<-- [start:padded_gradient]
dx_fixed = batch_gradients(two_layers, masked_loss, True)[0].numpy()
dx_fixed[1, :, 0]
# --8<-- [end:padded_gradient]


# --8<-- [start:embedding_claim]
token_ids = np.array([[3, 1, 2, 0, 0]])  # three real tokens; id 0 pads
token_mask = (token_ids != 0).astype("float32")
embedding = keras.layers.Embedding(
    input_dim=4, output_dim=1,
    embeddings_initializer=keras.initializers.Constant(
        np.random.default_rng(1).normal(size=(4, 1))),
)


def embedding_through_fix_2(mask_the_embedding):
    """With the step mask applied after each Conv1D (fix 2): the masked loss's
    gradient w.r.t. the embedding row of id 0, and whether the real outputs
    equal those of the three real tokens run alone (masking the embedding zeroes
    row 0's gradient by construction, so only the outputs are checked then)."""
    with tf.GradientTape() as tape:
        embedded = embedding(token_ids)
        if mask_the_embedding:
            embedded = embedded * token_mask[..., None]
        y = forward(embedded, one_layer, token_mask)[..., 0]
        value = masked_loss(y, np.zeros_like(token_mask), token_mask)
    gradient = tf.convert_to_tensor(tape.gradient(value, embedding.embeddings)).numpy()[0]
    y_alone = forward(embedding(token_ids[:, :3]), one_layer)[0, :, 0]
    return gradient, np.allclose(y[0, :3], y_alone, atol=1e-5)


row_0_gradient, real_outputs_as_alone = embedding_through_fix_2(False)
leaks = bool(np.any(row_0_gradient != 0)) and not real_outputs_as_alone
_, real_outputs_as_alone = embedding_through_fix_2(True)
leaks and real_outputs_as_alone
# --8<-- [end:embedding_claim]


# --8<-- [start:causal_claim]
causal_layers = [
    conv_layer(4, 1, padding="causal"),
    conv_layer(1, 4, padding="causal"),
]


def causal_stack_leaves_real_steps(depth, kernel_size, dilation):
    """A fresh stack of causal Conv1D layers: the post-padded short sequence against it alone."""
    random = np.random.default_rng([depth, kernel_size, dilation])
    widths = [1] + [2] * (depth - 1) + [1]  # channels in and out of each layer
    stack = [conv_layer(out, channels_in, "causal", kernel_size, dilation, random)
             for channels_in, out in zip(widths, widths[1:])]
    return np.allclose(in_batch(stack, 1), alone(stack, 1), atol=1e-5)


over(grid(depth=(1, 2, 3), kernel_size=(2, 3, 4), dilation=(1, 2)), causal_stack_leaves_real_steps)
# --8<-- [end:causal_claim]


# --8<-- [start:causal_pre_claim]
x_pre = keras.utils.pad_sequences(sequences, dtype="float32")  # the default padding
short_real_steps = forward(x_pre, causal_layers).numpy()[1, -lengths[1]:, 0]
one_layer_real = forward(x_pre, causal_layers[:1]).numpy()[1, -lengths[1]:]
one_layer_alone = forward(sequences[1][None].astype("float32"), causal_layers[:1]).numpy()[0]
(pad_sequences_default == "pre"
 and not np.allclose(short_real_steps, alone(causal_layers, 1), atol=1e-3)
 and np.allclose(one_layer_real, one_layer_alone, atol=1e-5))
# --8<-- [end:causal_pre_claim]
