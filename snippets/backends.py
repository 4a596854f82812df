"""One answer on every backend: the same gradients from TensorFlow (Eigen and oneDNN
CPU kernels), JAX and PyTorch, what each materialises on the way, and the kernel-path
defects found on the way.

The page runs each section on the machineries its block names, each in a process of
its own whose environment chose the backend before Keras was imported, so every
section reads the backend from `keras.backend.backend()` and imports only what that
backend has.
"""

# --8<-- [start:setup]
import os

import keras
import numpy as np

from snippets import conv as reference

backend = keras.backend.backend()
rng = np.random.default_rng(0)


def random(shape):
    """Normal values, exactly representable in float32, so the float64 reference
    and the backends start from the same numbers."""
    return rng.normal(size=shape).astype(np.float32)
# --8<-- [end:setup]


# --8<-- [start:which_machinery]
def machinery():
    """The backend and, for TensorFlow, which CPU kernel library it was told to use."""
    if backend != "tensorflow":
        return backend
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "1"
    return "tensorflow, " + ("oneDNN" if onednn else "Eigen") + " CPU kernels"


print(machinery(), "| Keras", keras.__version__)
# --8<-- [end:which_machinery]


# --8<-- [start:gradients]
def conv_layer(kernel, strides=1, padding="same", dilation=1):
    """A Keras Conv1D or Conv2D without bias whose kernel is `kernel`."""
    layer_class = {3: keras.layers.Conv1D, 4: keras.layers.Conv2D}[kernel.ndim]
    layer = layer_class(kernel.shape[-1], kernel.shape[:-2], strides=strides,
                        padding=padding, dilation_rate=dilation, use_bias=False,
                        kernel_initializer="zeros")  # overwritten just below
    layer.build((None,) * (kernel.ndim - 1) + (kernel.shape[-2],))
    layer.kernel.assign(kernel)
    return layer


def gradients(layer, x, dy):
    """dL/dx and dL/dkernel for L = sum(layer(x) * dy), each backend's own way."""
    if backend == "tensorflow":
        import tensorflow as tf
        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        dx, dkernel = tape.gradient(y, [x, layer.kernel.value], output_gradients=dy)
    elif backend == "jax":
        import jax

        def loss(x, kernel):
            y, _ = layer.stateless_call([kernel], [], x)
            return (y * dy).sum()

        dx, dkernel = jax.jit(jax.grad(loss, argnums=(0, 1)))(x, layer.kernel.value)
    elif backend == "torch":
        import torch
        x = torch.tensor(x, requires_grad=True)
        layer(x).backward(torch.tensor(dy))
        dx, dkernel = x.grad, layer.kernel.value.grad
    else:
        raise ValueError(f"no gradient recipe for backend {backend!r}; "
                         "this page runs on tensorflow, jax and torch")
    return keras.ops.convert_to_numpy(dx), keras.ops.convert_to_numpy(dkernel)
# --8<-- [end:gradients]


# --8<-- [start:cases]
CASES = {  # name: (x shape, kernel shape, strides, padding, dilation)
    "4x4 kernel": ((1, 7, 7, 2), (4, 4, 2, 3), 1, "same", 1),
    "stride 2, 8x8 input": ((1, 8, 8, 2), (3, 3, 2, 3), 2, "same", 1),
    "stride 2, 7x7 input": ((1, 7, 7, 2), (3, 3, 2, 3), 2, "same", 1),
    "dilation 2": ((1, 7, 7, 2), (3, 3, 2, 3), 1, "same", 2),
    "causal, dilation 2": ((1, 9, 2), (3, 2, 3), 1, "causal", 2),
}


def largest_difference(name):
    """The largest |backend - reference| of dx and dkernel, each relative to the
    largest entry of the reference gradient."""
    x_shape, kernel_shape, strides, padding, dilation = CASES[name]
    x, kernel = random(x_shape), random(kernel_shape)
    layer = conv_layer(kernel, strides, padding, dilation)
    dy = random(layer.compute_output_shape(x_shape))
    dx, dkernel = gradients(layer, x, dy)
    options = dict(strides=strides, padding=padding, dilation=dilation)
    grad_input, grad_kernel = ((reference.conv2d_grad_input, reference.conv2d_grad_kernel)
                               if len(x_shape) == 4 else
                               (reference.conv1d_grad_input, reference.conv1d_grad_kernel))
    dx_ref = grad_input(dy, kernel, x_shape, **options)
    dkernel_ref = grad_kernel(x, dy, kernel_shape, **options)
    return tuple(float(np.abs(got - want).max() / np.abs(want).max())
                 for got, want in [(dx, dx_ref), (dkernel, dkernel_ref)])
# --8<-- [end:cases]


# --8<-- [start:agreement]
ROUND_OFF = 1e-6  # relative; float32 keeps about 7 significant digits, these sums have <= 36 terms


def at_most(difference):
    """The smallest power of ten at or above `difference`, but no smaller than
    ROUND_OFF: the exact round-off differs between kernel paths and CPUs, a bound
    does not."""
    return f"<= {max(ROUND_OFF, 10.0 ** np.ceil(np.log10(difference + 1e-300))):.0e}"


differences = {name: largest_difference(name) for name in CASES}
print(f"{'case':22} {'dx':>9} {'dkernel':>9}")
for name, (dx_difference, dkernel_difference) in differences.items():
    print(f"{name:22} {at_most(dx_difference):>9} {at_most(dkernel_difference):>9}")
# --8<-- [end:agreement]


# --8<-- [start:agreement_claim]
all(difference <= ROUND_OFF for pair in differences.values() for difference in pair)
# --8<-- [end:agreement_claim]


# --8<-- [start:stride_and_dilation]
conv_layer(random((3, 3, 2, 3)), strides=2, dilation=2)
# --8<-- [end:stride_and_dilation]


# --8<-- [start:tf_graph]
import tensorflow as tf

PLUMBING = {"Placeholder", "Const", "Identity", "Pack", "Reshape", "ReadVariableOp",
            "Shape", "ShapeN", "NoOp"}


def tf_graph_ops(layer, x_shape):
    """The ops of the traced forward and backward graph of `layer`, in graph order,
    with the padding attribute of each convolution op."""
    @tf.function
    def forward_backward(x, dy):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        return tape.gradient(y, [x, layer.kernel.value], output_gradients=dy)

    dy_shape = layer.compute_output_shape(x_shape)
    graph = forward_backward.get_concrete_function(
        tf.TensorSpec(x_shape), tf.TensorSpec(dy_shape)).graph
    return [op.type + (f"({op.get_attr('padding').decode()})" if "Conv" in op.type else "")
            for op in graph.get_operations() if op.type not in PLUMBING]


for name in ["4x4 kernel", "stride 2, 7x7 input", "dilation 2"]:
    x_shape, kernel_shape, strides, padding, dilation = CASES[name]
    layer = conv_layer(random(kernel_shape), strides, padding, dilation)
    print(f"{name}: {tf_graph_ops(layer, x_shape)}")
# --8<-- [end:tf_graph]


# --8<-- [start:tf_graph_claim]
ops = tf_graph_ops(conv_layer(random((4, 4, 2, 3))), (1, 7, 7, 2))
ops == ["Conv2D(SAME)", "Conv2DBackpropInput(SAME)", "Conv2DBackpropFilter(SAME)"]
# --8<-- [end:tf_graph_claim]


# --8<-- [start:tf_kernels]
def tf_kernels_run(x_shape, kernel_shape):
    """The op kernels TensorFlow's runtime actually ran for a "same" convolution
    and its two gradients, after its own graph rewrites."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, x_shape)
        kernel = tf.constant(random(kernel_shape))
        y = tf.nn.convolution(x, kernel, padding="SAME")  # what Keras's Conv2D calls
        fetches = [y, *tf.gradients(y, [x, kernel])]
    metadata = tf.compat.v1.RunMetadata()
    with tf.compat.v1.Session(graph=graph) as session:
        session.run(fetches, {x: random(x_shape)}, run_metadata=metadata,
                    options=tf.compat.v1.RunOptions(output_partition_graphs=True))
    return [node.op for partition in metadata.partition_graphs for node in partition.node
            if "Conv" in node.op]


kernels = tf_kernels_run((1, 7, 7, 2), (4, 4, 2, 3))
print(kernels)
# --8<-- [end:tf_kernels]


# --8<-- [start:tf_kernels_claim]
onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "1"
expected = ["Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"]
sorted(kernels) == sorted(("_MklNative" if onednn else "") + op for op in expected)
# --8<-- [end:tf_kernels_claim]


# --8<-- [start:jaxpr]
import jax


def jax_convolutions(layer, x):
    """Each convolution in the jaxpr of jax.grad, with how it pads, and every other
    primitive that is not bookkeeping."""
    def loss(x, kernel):
        y, _ = layer.stateless_call([kernel], [], x)
        return y.sum()

    jaxpr = jax.make_jaxpr(jax.grad(loss, argnums=(0, 1)))(x, layer.kernel.value)
    found = []
    for equation in jaxpr.eqns:
        name, params = equation.primitive.name, equation.params
        if name == "conv_general_dilated":
            found.append(f"conv padding={params['padding']} "
                         f"lhs_dilation={params['lhs_dilation']} "
                         f"-> {equation.outvars[0].aval.str_short()}")
        elif name not in {"reduce_sum", "broadcast_in_dim", "mul", "convert_element_type"}:
            found.append(name)
    return found


for name in ["4x4 kernel", "stride 2, 8x8 input"]:
    x_shape, kernel_shape, strides, padding, dilation = CASES[name]
    layer = conv_layer(random(kernel_shape), strides, padding, dilation)
    print(name)
    for line in jax_convolutions(layer, random(x_shape)):
        print("   ", line)
# --8<-- [end:jaxpr]


# --8<-- [start:jaxpr_claim]
steps = jax_convolutions(conv_layer(random((4, 4, 2, 3))), random((1, 7, 7, 2)))
paddings = [step.split(" lhs")[0] for step in steps if step.startswith("conv")]
"pad" not in steps and paddings == ["conv padding=((1, 2), (1, 2))"] * 2 + [
    "conv padding=((2, 1), (2, 1))"]
# --8<-- [end:jaxpr_claim]


# --8<-- [start:torch_graph]
import torch


def autograd_nodes(layer, x):
    """The names of the autograd nodes behind layer(x), nearest the output first."""
    y = layer(torch.tensor(x, requires_grad=True))
    seen, waiting = [], [y.grad_fn]
    while waiting:
        node = waiting.pop(0)
        if node is not None and node not in seen:
            seen.append(node)
            waiting.extend(parent for parent, _ in node.next_functions)
    return [type(node).__name__ for node in seen]


for name in ["4x4 kernel", "stride 2, 8x8 input", "stride 2, 7x7 input"]:
    x_shape, kernel_shape, strides, padding, dilation = CASES[name]
    layer = conv_layer(random(kernel_shape), strides, padding, dilation)
    print(f"{name}: {autograd_nodes(layer, random(x_shape))}")
# --8<-- [end:torch_graph]


# --8<-- [start:torch_graph_claim]
def pads_explicitly(name):
    x_shape, kernel_shape, strides, padding, dilation = CASES[name]
    layer = conv_layer(random(kernel_shape), strides, padding, dilation)
    return "ConstantPadNdBackward0" in autograd_nodes(layer, random(x_shape))


(pads_explicitly("4x4 kernel"), pads_explicitly("stride 2, 8x8 input"),
 pads_explicitly("stride 2, 7x7 input")) == (True, True, False)
# --8<-- [end:torch_graph_claim]


# --8<-- [start:dilated_op]
def dilated_op_gradients(x, kernel, dy):
    """The gradients of TensorFlow's Conv2D op run with dilations=2 itself, as
    tf.nn.conv2d runs it (Keras's layers go round it through SpaceToBatchND)."""
    x, kernel = tf.constant(x), tf.constant(kernel)
    with tf.GradientTape() as tape:
        tape.watch([x, kernel])
        y = tf.nn.conv2d(x, kernel, strides=1, padding="SAME", dilations=2)
    return tape.gradient(y, [x, kernel], output_gradients=dy)


x, kernel, dy = random((1, 7, 7, 2)), random((3, 3, 2, 3)), random((1, 7, 7, 3))
# --8<-- [end:dilated_op]


# --8<-- [start:dilated_op_eigen]
dilated_op_gradients(x, kernel, dy)
# --8<-- [end:dilated_op_eigen]


# --8<-- [start:dilated_op_onednn]
dx, dkernel = dilated_op_gradients(x, kernel, dy)
dx_ref = reference.conv2d_grad_input(dy, kernel, x.shape, padding="same", dilation=2)
dkernel_ref = reference.conv2d_grad_kernel(x, dy, kernel.shape, padding="same", dilation=2)
bool(np.abs(dx - dx_ref).max() <= ROUND_OFF * np.abs(dx_ref).max()
     and np.abs(dkernel - dkernel_ref).max() <= ROUND_OFF * np.abs(dkernel_ref).max())
# --8<-- [end:dilated_op_onednn]


# --8<-- [start:kernel_one_longer]
def valid_conv_kernel_one_longer(length=3):
    """A "valid" convolution whose kernel is one longer than the input:
    there is no position where it fits, so the output has length 0."""
    x = keras.ops.ones((1, length, 1))
    kernel = keras.ops.ones((length + 1, 1, 1))
    return keras.ops.conv(x, kernel, padding="valid")
# --8<-- [end:kernel_one_longer]


# --8<-- [start:kernel_one_longer_refused]
valid_conv_kernel_one_longer()
# --8<-- [end:kernel_one_longer_refused]


# --8<-- [start:kernel_one_longer_torch]
valid_conv_kernel_one_longer()
# --8<-- [end:kernel_one_longer_torch]


# --8<-- [start:kernel_one_longer_onednn]
tuple(valid_conv_kernel_one_longer(length=3).shape) == (1, 3, 1)
# --8<-- [end:kernel_one_longer_onednn]


# --8<-- [start:transpose_even_kernel]
transpose = keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same",
                                         output_padding=0, use_bias=False)
transpose.build((None, 3, 3, 1))
print("built; promised output shape:", tuple(transpose.compute_output_shape((1, 3, 3, 1))))
small = keras.ops.ones((1, 3, 3, 1))
# --8<-- [end:transpose_even_kernel]


# --8<-- [start:transpose_even_kernel_eigen]
# What Conv2DTranspose.call runs (keras/src/layers/convolutional/base_conv_transpose.py)
keras.ops.conv_transpose(small, transpose.kernel, strides=2, padding="same",
                         output_padding=0)
# --8<-- [end:transpose_even_kernel_eigen]


# --8<-- [start:transpose_even_kernel_onednn]
keras.ops.conv_transpose(small, transpose.kernel, strides=2, padding="same",
                         output_padding=0)
# --8<-- [end:transpose_even_kernel_onednn]


# --8<-- [start:transpose_even_kernel_runs]
tuple(transpose(small).shape) == (1, 4, 4, 1)
# --8<-- [end:transpose_even_kernel_runs]
