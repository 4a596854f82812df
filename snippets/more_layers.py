"""Pooling, groups, layouts and precision: the layers around Conv2D that pad too, run on every backend
their blocks name (docexec/backends.py), each in a process of its own whose environment chose the backend
before Keras was imported. The defects found on the way are checked in snippets/appendix.py."""

# --8<-- [start:setup]
import os

import keras
import numpy as np

from docexec.checks import grid, over
from snippets import conv as reference
from snippets.padding import output_size, same_padding
from snippets.pooling import pool_real_cells, signed_input, window_starts

backend = keras.backend.backend()
if backend == "tensorflow":
    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")  # not its retracing warnings: Keras compiles each grouped layer anew
rng = np.random.default_rng(0)
ROUND_OFF = 1e-5  # relative to the largest entry: float32 keeps about 7 significant digits


def random(shape):
    """Normal values, exactly representable in float32."""
    return rng.normal(size=shape).astype(np.float32)


def close(value, expected, tolerance=ROUND_OFF):
    value, expected = np.asarray(value, "float64"), np.asarray(expected, "float64")
    return bool(value.shape == expected.shape
                and np.abs(value - expected).max() <= tolerance * max(np.abs(expected).max(), 1e-30))


def gradients(layer, x, dy):
    """dL/dx, then dL/dw for each trainable weight w of the layer, for L = sum(layer(x) * dy) summed in
    float32 (the layer may compute in float16), each backend's own way."""
    def loss_of(y):
        return keras.ops.sum(keras.ops.cast(y, "float32") * keras.ops.convert_to_tensor(dy, "float32"))

    if backend == "tensorflow":
        import tensorflow as tf
        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = loss_of(layer(x))
        found = tape.gradient(loss, [x, *[w.value for w in layer.trainable_weights]])
    elif backend == "jax":
        import jax

        def loss(x, trainable):  # layer(x), not stateless_call: only a call casts to the layer's dtype policy
            with keras.StatelessScope(state_mapping=list(zip(layer.trainable_weights, trainable))):
                return loss_of(layer(x))

        dx, dweights = jax.grad(loss, argnums=(0, 1))(x, [w.value for w in layer.trainable_weights])
        found = [dx, *dweights]
    else:
        import torch
        x = torch.tensor(x, requires_grad=True)
        for w in layer.trainable_weights:
            w.value.grad = None  # PyTorch adds each backward pass to the last one's
        loss_of(layer(x)).backward()
        found = [x.grad, *[w.value.grad for w in layer.trainable_weights]]
    return [keras.ops.convert_to_numpy(g) for g in found]


def with_kernel(layer, kernel, input_shape):
    """The layer built for `input_shape`, its kernel set to `kernel` (no bias)."""
    layer.build(input_shape)
    layer.kernel.assign(kernel)
    return layer
# --8<-- [end:setup]


# --8<-- [start:pooling]
x = np.array([0, 1, 2, 3], "float32")[None, :, None]
for name, layer, values in [
        ("AveragePooling1D", keras.layers.AveragePooling1D(3, strides=2, padding="same"), x),
        ("MaxPooling1D", keras.layers.MaxPooling1D(3, strides=2, padding="same"), -1 - x)]:
    print(f"{name}(3, strides=2, padding='same') on {values.ravel()}")
    print("  output:          ", keras.ops.convert_to_numpy(layer(values)).ravel().round(4))
    print("  d sum(output)/dx:", gradients(layer, values, 1.0)[0].ravel().round(4))
# --8<-- [end:pooling]


# --8<-- [start:max_pooling_claim]
def gradient_of_real_cell_maxima(x, pool, stride):
    """d sum/dx of max-pooling each "same" window's real cells: one for each window a cell is the largest of."""
    counts = np.zeros(len(x))
    for start in window_starts(len(x), pool, stride):
        first = max(start, 0)
        counts[first + np.argmax(x[first:start + pool])] += 1
    return counts


def max_gradient_goes_to_real_cells(size, pool, stride):
    below_zero = signed_input(size, pool, stride) - 5  # every input negative: a padded 0 would win
    layer = keras.layers.MaxPooling1D(pool, strides=stride, padding="same")
    dx = gradients(layer, below_zero.astype("float32")[None, :, None], 1.0)[0].ravel()
    return bool(np.array_equal(dx, gradient_of_real_cell_maxima(below_zero, pool, stride)))


over(grid(size=range(1, 9), pool=range(1, 5), stride=range(1, 4)), max_gradient_goes_to_real_cells)
# --8<-- [end:max_pooling_claim]


# --8<-- [start:average_pooling_claim]
def gradient_of_sum(pool_fn, size):
    """d sum(pool_fn(x))/dx for a pooling linear in x (an average): entry j is the sum of pool_fn(unit vector j)."""
    return np.array([pool_fn(unit).sum() for unit in np.eye(size)])


def average_gradient_counts_real_cells(size, pool, stride):
    x = signed_input(size, pool, stride).astype("float32")[None, :, None]
    layer = keras.layers.AveragePooling1D(pool, strides=stride, padding="same")
    dx = gradients(layer, x, 1.0)[0].ravel()
    return close(dx, gradient_of_sum(lambda v: pool_real_cells("average", v, pool, stride), size))


over(grid(size=range(1, 9), pool=range(1, 5), stride=range(1, 4)), average_gradient_counts_real_cells)
# --8<-- [end:average_pooling_claim]


# --8<-- [start:traced]
import tensorflow as tf


def traced_gradient_step(layer, input_shape):
    """The TensorFlow graph of one forward and backward pass, traced without jit_compile; and, for each
    call to a function, whether Keras marked it for XLA and the ops it holds."""
    @tf.function(autograph=False)
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        return tape.gradient(y, [x, layer.kernel.value])

    graph = step.get_concrete_function(tf.TensorSpec(input_shape)).graph
    library = {f.signature.name: f for f in graph.as_graph_def().library.function}
    ops, calls = [], []
    for op in graph.get_operations():
        if op.type in ("PartitionedCall", "StatefulPartitionedCall"):
            function = library[op.get_attr("f").name]
            xla = function.attr["_XlaMustCompile"].b if "_XlaMustCompile" in function.attr else False
            calls.append((xla, sorted({node.op for node in function.node_def if "Conv" in node.op})))
        elif "Conv" in op.type:
            ops.append((op.type, op.get_attr("padding").decode()))
    return ops, calls


grouped = keras.layers.Conv2D(4, 3, padding="same", groups=2, use_bias=False)
depthwise = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False)
traces = {}
for name, layer in [("Conv2D(groups=2)", grouped), ("DepthwiseConv2D", depthwise)]:
    layer.build((1, 6, 6, 4))
    traces[name] = traced_gradient_step(layer, (1, 6, 6, 4))
    ops, calls = traces[name]
    print(f"{name}, padding='same': convolution ops {ops}")
    for xla, inner in calls:
        print(f"  calls a function{' compiled by XLA' if xla else ''} holding {inner}")
# --8<-- [end:traced]


# --8<-- [start:traced_claim]
grouped_ops, grouped_calls = traces["Conv2D(groups=2)"]
depthwise_ops, depthwise_calls = traces["DepthwiseConv2D"]
(grouped_ops == [] and len(grouped_calls) == 2 and all(xla for xla, _ in grouped_calls)
 and depthwise_calls == []
 and depthwise_ops == [("DepthwiseConv2dNative", "SAME"), ("DepthwiseConv2dNativeBackpropInput", "SAME"),
                       ("DepthwiseConv2dNativeBackpropFilter", "SAME")])
# --8<-- [end:traced_claim]


# --8<-- [start:grouped]
def grouped_is_per_group(kernel, stride, padding):
    """Conv2D(groups=2) on 4 channels: its gradients against two Conv2D layers, one per group."""
    x, weights = random((1, 7, 7, 4)), random((kernel, kernel, 2, 6))
    options = dict(strides=stride, padding=padding, use_bias=False)
    layer = with_kernel(keras.layers.Conv2D(6, kernel, groups=2, **options), weights, x.shape)
    dy = random(layer.compute_output_shape(x.shape))
    dx, dkernel = gradients(layer, x, dy)
    parts = [gradients(with_kernel(keras.layers.Conv2D(3, kernel, **options), weights[..., 3 * g:3 * g + 3],
                                   (1, 7, 7, 2)),
                       x[..., 2 * g:2 * g + 2], dy[..., 3 * g:3 * g + 3]) for g in (0, 1)]
    return (close(dx, np.concatenate([part[0] for part in parts], -1))
            and close(dkernel, np.concatenate([part[1] for part in parts], -1)))

# --8<-- [end:grouped]


# --8<-- [start:per_group_claim]
def depthwise_is_per_channel(kernel, stride, size):
    """DepthwiseConv2D(padding="same") on 3 channels: its gradients against one Conv2D per channel."""
    x, weights = random((1, size, size, 3)), random((kernel, kernel, 3, 1))
    layer = with_kernel(keras.layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False),
                        weights, x.shape)
    dy = random(layer.compute_output_shape(x.shape))
    dx, dkernel = gradients(layer, x, dy)
    parts = [gradients(with_kernel(keras.layers.Conv2D(1, kernel, strides=stride, padding="same", use_bias=False),
                                   weights[:, :, c:c + 1, :], (1, size, size, 1)),
                       x[..., c:c + 1], dy[..., c:c + 1]) for c in range(3)]
    return (close(dx, np.concatenate([part[0] for part in parts], -1))
            and close(dkernel, np.concatenate([part[1] for part in parts], -2)))


def per_group(layer, **configuration):
    check = grouped_is_per_group if layer == "Conv2D(groups=2)" else depthwise_is_per_channel
    return check(**configuration)


over([{"layer": "Conv2D(groups=2)", **c} for c in grid(kernel=range(1, 5), stride=(1, 2), padding=("same", "valid"))]
     + [{"layer": "DepthwiseConv2D", **c} for c in grid(kernel=range(1, 5), stride=(1, 2), size=(7, 8))], per_group)
# --8<-- [end:per_group_claim]


# --8<-- [start:padded_terms_claim]
class PadThenValid:
    """keras.ops.pad by "same"'s amounts with `value`, then the same Conv2D with padding="valid"."""
    def __init__(self, conv, pads, value):
        self.conv, self.pads, self.value = conv, pads, value
        self.trainable_weights = conv.trainable_weights

    def __call__(self, x):
        return self.conv(keras.ops.pad(x, self.pads, constant_values=self.value))


def padded_terms_are_exactly_zero(policy, kernel, stride, pad_value=None):
    """For each tap that reads padding, dy is non-zero only at the outputs where that tap reads a padded
    cell: the tap's kernel gradient is then the sum of padded terms alone, and must be exactly 0.
    pad_value=None tests Keras's own "same"; a number tests a layer that pads with it instead."""
    size = 7
    before, after = same_padding(size, kernel, stride)
    x = random((1, size, size, 2))
    weights = random((kernel, kernel, 2, 2))
    if pad_value is None:
        layer = with_kernel(keras.layers.Conv2D(2, kernel, strides=stride, padding="same", use_bias=False,
                                                dtype=policy), weights, x.shape)
    else:
        padded = size + before + after
        conv = with_kernel(keras.layers.Conv2D(2, kernel, strides=stride, padding="valid", use_bias=False,
                                               dtype=policy), weights, (1, padded, padded, 2))
        layer = PadThenValid(conv, [(0, 0), (before, after), (before, after), (0, 0)], pad_value)
    out = keras.layers.Conv2D(2, kernel, strides=stride, padding="same").compute_output_shape(x.shape)[1]
    reads = np.arange(out)[:, None] * stride + np.arange(kernel)[None, :] - before  # [output, tap]
    in_padding = (reads < 0) | (reads >= size)
    checked = 0
    for i in range(kernel):
        for j in range(kernel):
            at = in_padding[:, i][:, None] | in_padding[:, j][None, :]  # outputs where tap (i, j) reads padding
            if not at.any():
                continue
            dy = np.where(at[None, :, :, None], random((1, out, out, 2)), 0).astype("float32")
            dkernel = gradients(layer, x, dy)[1]
            if np.any(dkernel[i, j] != 0):
                return False
            checked += 1
    return checked > 0


def zero_for_same_not_for_seven(policy, kernel, stride):
    return (padded_terms_are_exactly_zero(policy, kernel, stride)
            and not padded_terms_are_exactly_zero(policy, kernel, stride, pad_value=7))


over(grid(policy=("mixed_float16", "mixed_bfloat16"), kernel=range(2, 5), stride=(1, 2)),
     zero_for_same_not_for_seven)
# --8<-- [end:padded_terms_claim]


# --8<-- [start:precision_setup]
POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")


def relative_errors(policy, kernel=3, stride=1, size=8, seed=0):
    """The largest |dx - reference| and |dkernel - reference| of a Conv2D(padding="same") computing under
    `policy`, each relative to the largest entry of the float64 NumPy reference."""
    draw = np.random.default_rng(seed)
    x = draw.normal(size=(1, size, size, 4)).astype("float32")
    weights = draw.normal(size=(kernel, kernel, 4, 4)).astype("float32")
    layer = with_kernel(keras.layers.Conv2D(4, kernel, strides=stride, padding="same", use_bias=False,
                                            dtype=policy), weights, x.shape)
    dy = draw.normal(size=layer.compute_output_shape(x.shape)).astype("float32")
    dx, dkernel = gradients(layer, x, dy)
    dx_reference = reference.conv2d_grad_input(dy.astype("float64"), weights, x.shape, stride, "same")
    dkernel_reference = reference.conv2d_grad_kernel(x.astype("float64"), dy, weights.shape, stride, "same")
    return tuple(float(np.abs(found - expected).max() / np.abs(expected).max())
                 for found, expected in [(dx, dx_reference), (dkernel, dkernel_reference)])


# --8<-- [end:precision_setup]


# --8<-- [start:precision]
errors = {policy: relative_errors(policy) for policy in POLICIES}
# The scale each policy's error stays under, not its digits: those differ between kernel paths.
SCALE = {"float32": 1e-6, "mixed_float16": 1e-2, "mixed_bfloat16": 1e-1}
for policy, pair in errors.items():
    under = "within" if max(pair) <= SCALE[policy] else "NOT within"
    print(f"{policy:>14}: dx and dkernel {under} {SCALE[policy]:.0e} of the float64 reference (relative)")
# --8<-- [end:precision]


# --8<-- [start:precision_claim]
errors = {policy: relative_errors(policy) for policy in POLICIES}
(max(errors["float32"]) <= 1e-6 < min(errors["mixed_float16"])
 and max(errors["mixed_float16"]) <= 1e-2
 and max(errors["mixed_float16"]) < max(errors["mixed_bfloat16"]) <= 1e-1)
# --8<-- [end:precision_claim]



# --8<-- [start:keras2]
import tensorflow as tf

# Under TF_USE_LEGACY_KERAS=1 (the tf-keras2 backend) tf.keras is Keras 2, from the tf-keras distribution;
# `import keras` still gives Keras 3.
LEGACY = os.environ.get("TF_USE_LEGACY_KERAS") == "1"
if LEGACY:
    import tf_keras
    layers, version = tf.keras.layers, tf_keras.__version__
else:
    layers, version = keras.layers, keras.__version__
print(f"Conv2D from {layers.Conv2D.__module__.split('.')[0]}, Keras {version}, TensorFlow {tf.__version__}")


def conv2d_gradients(x, kernel, dy, stride, padding):
    """dL/dx and dL/dkernel of this Keras's Conv2D, for L = sum(Conv2D(x) * dy)."""
    layer = layers.Conv2D(kernel.shape[-1], kernel.shape[:2], strides=stride, padding=padding, use_bias=False)
    layer.build(x.shape)
    layer.kernel.assign(kernel)
    variable = layer.kernel if LEGACY else layer.kernel.value
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
    dx, dkernel = tape.gradient(y, [x, variable], output_gradients=tf.constant(dy))
    return dx.numpy(), dkernel.numpy()
# --8<-- [end:keras2]


# --8<-- [start:keras2_claim]
def matches_reference(kernel, stride, padding, size):
    x, kernel_values = random((1, size, size, 2)), random((kernel, kernel, 2, 3))
    dy = random((1, output_size(size, kernel, stride, padding),
                 output_size(size, kernel, stride, padding), 3))
    dx, dkernel = conv2d_gradients(x, kernel_values, dy, stride, padding)
    return (close(dx, reference.conv2d_grad_input(dy, kernel_values, x.shape, stride, padding))
            and close(dkernel, reference.conv2d_grad_kernel(x, dy, kernel_values.shape, stride, padding)))


over(grid(kernel=range(2, 6), stride=(1, 2), padding=("same", "valid"), size=(7, 8)), matches_reference)
# --8<-- [end:keras2_claim]
