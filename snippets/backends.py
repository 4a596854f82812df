"""One answer on every backend: the same gradients from TensorFlow (Eigen and oneDNN
CPU kernels, and XLA), JAX and PyTorch, what each materialises on the way, what
`model.fit` runs, what a GPU would change, and what XLA compiles (the kernel-path defects found on the way are
checked in snippets/appendix.py).

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
# The tf-xla machinery sets DOCEXEC_XLA=1: every TensorFlow gradient step of this page is
# then compiled by XLA (tf.function(jit_compile=True)), as model.fit compiles it on a GPU.
XLA = os.environ.get("DOCEXEC_XLA") == "1"
if XLA and backend != "tensorflow":
    raise RuntimeError(f"DOCEXEC_XLA=1 compiles TensorFlow steps; this worker runs {backend}")
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
    if XLA:
        return "tensorflow, every gradient step compiled by XLA (jit_compile=True)"
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


COMPILED_STEPS = []  # on tf-xla: (step, its arguments) for every case


def gradients(layer, x, dy):
    """dL/dx and dL/dkernel for L = sum(layer(x) * dy), each backend's own way."""
    if backend == "tensorflow":
        import tensorflow as tf

        def step(x, dy):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x)
            return tape.gradient(y, [x, layer.kernel.value], output_gradients=dy)

        arguments = (tf.constant(x), tf.constant(dy))
        if XLA:
            step = tf.function(step, jit_compile=True)
        dx, dkernel = step(*arguments)
        if XLA:
            COMPILED_STEPS.append((step, arguments))
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


def longest_sum(name):
    """The most products one gradient entry sums: a dx entry, at most every tap of the kernel for every
    filter; a dkernel entry, every output position of every example."""
    x_shape, kernel_shape, strides, padding, dilation = CASES[name]
    outputs = conv_layer(np.zeros(kernel_shape, "float32"), strides, padding, dilation).compute_output_shape(x_shape)
    return max(int(np.prod(kernel_shape[:-2])) * kernel_shape[-1], int(np.prod(outputs[:-1])))
# --8<-- [end:cases]


# --8<-- [start:agreement]
ROUND_OFF = 1e-6  # relative; float32 keeps about 7 significant digits, and these sums are short (printed below)


def at_most(difference):
    """The smallest power of ten at or above `difference`, but no smaller than
    ROUND_OFF: the exact round-off differs between kernel paths and CPUs, a bound
    does not."""
    return f"<= {max(ROUND_OFF, 10.0 ** np.ceil(np.log10(difference + 1e-300))):.0e}"


differences = {name: largest_difference(name) for name in CASES}
print(f"{'case':22} {'dx':>9} {'dkernel':>9}")
for name, (dx_difference, dkernel_difference) in differences.items():
    print(f"{name:22} {at_most(dx_difference):>9} {at_most(dkernel_difference):>9}")
print("the longest sum of products in one gradient entry:", max(map(longest_sum, CASES)), "terms")
# --8<-- [end:agreement]


# --8<-- [start:agreement_claim]
all(difference <= ROUND_OFF for pair in differences.values() for difference in pair)
# --8<-- [end:agreement_claim]


# --8<-- [start:profiler]
import glob
import tempfile


def profiled_events(step, arguments):
    """The names of the events TensorFlow's profiler records while `step(*arguments)` runs."""
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    with tempfile.TemporaryDirectory() as trace_dir:
        tf.profiler.experimental.start(trace_dir)
        step(*arguments)
        tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        [trace] = glob.glob(f"{trace_dir}/**/*.xplane.pb", recursive=True)
        with open(trace, "rb") as file:
            space.ParseFromString(file.read())
    return {plane.event_metadata[event.metadata_id].name
            for plane in space.planes for line in plane.lines for event in line.events}
# --8<-- [end:profiler]


# --8<-- [start:compiled_claim]
from docexec.checks import grid, over


def ran_as_xla(step, arguments):
    """Run the step again under TensorFlow's profiler: did it run as an XLA CPU executable,
    with no TensorFlow convolution op kernel? (Its gradients are checked by the claim above.)"""
    events = profiled_events(step, arguments)
    return ("CpuExecutable::ExecuteAsyncOnStream" in events
            and not any("Conv2D" in name for name in events))


steps = dict(zip(CASES, COMPILED_STEPS, strict=True))  # one compiled step per case, or an error
over(grid(case=list(CASES)), lambda case: ran_as_xla(*steps[case]))
# --8<-- [end:compiled_claim]


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
from docexec.checks import grid, over


def three_ops_with_same(kernel, stride, size):
    layer = conv_layer(random((kernel, kernel, 2, 3)), stride)
    return tf_graph_ops(layer, (1, size, size, 2)) == [
        "Conv2D(SAME)", "Conv2DBackpropInput(SAME)", "Conv2DBackpropFilter(SAME)"]


over(grid(kernel=range(1, 6), stride=(1, 2, 3), size=(7, 8)), three_ops_with_same)
# --8<-- [end:tf_graph_claim]


# --8<-- [start:tf_kernels]
def tf_kernels_run(x_shape, kernel_shape):
    """The convolution op kernels TensorFlow's runtime ran, after its own graph rewrites, for one
    tf.function step of a Keras Conv2D(padding="same"): the layer and its two gradients."""
    layer = conv_layer(random(kernel_shape))

    @tf.function
    def step(x, dy):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        return y, *tape.gradient(y, [x, layer.kernel.value], output_gradients=dy)

    arguments = tf.constant(random(x_shape)), tf.constant(random(layer.compute_output_shape(x_shape)))
    step(*arguments)  # traced and optimised before the profiler starts
    events = profiled_events(step, arguments)
    # an op's event is "its name:its kernel", e.g. "conv2d/convolution:Conv2D"
    return sorted({name.rsplit(":", 1)[1] for name in events if ":" in name and "Conv" in name.rsplit(":", 1)[1]})


kernels = tf_kernels_run((1, 7, 7, 2), (4, 4, 2, 3))
print(kernels)
# --8<-- [end:tf_kernels]


# --8<-- [start:tf_kernels_claim]
onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "1"
expected = ["Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"]
sorted(kernels) == sorted(("_MklNative" if onednn else "") + op for op in expected)
# --8<-- [end:tf_kernels_claim]


# --8<-- [start:example_padding]
from snippets.padding import padding_amounts

# The prose's numbers, in the page's default worker: the "4x4 kernel" case of CASES, a 7x7 input,
# which the jaxpr and the HLO below run; tests/pages/test_backends.py holds them against those outputs.
size, kernel_size = 7, 4
before, after = padding_amounts(size, kernel_size, 1, "same")
dx_padding = (kernel_size - 1 - before, kernel_size - 1 - after)
padded_size = size + before + after
# --8<-- [end:example_padding]


# --8<-- [start:jax_padding_claim]
from unittest.mock import patch

import jax

from docexec.checks import grid, over
from snippets.padding import padding_amounts


def padding_handed_and_padding_run(layer, x):
    """The `padding` argument Keras's JAX backend passes to jax.lax.conv_general_dilated, and the
    (before, after) pairs the convolution in the traced program (the jaxpr) of layer(x) pads."""
    received, convolve = [], jax.lax.conv_general_dilated

    def spy(*args, **kwargs):
        received.append(kwargs["padding"] if "padding" in kwargs else args[3])
        return convolve(*args, **kwargs)

    with patch.object(jax.lax, "conv_general_dilated", spy):
        jaxpr = jax.make_jaxpr(layer)(x)
    pads = [[tuple(pair) for pair in equation.params["padding"]]
            for equation in jaxpr.eqns if equation.primitive.name == "conv_general_dilated"]
    return received, pads


def jax_pairs_are_tensorflows(size, kernel, stride, dilation):
    layer = conv_layer(random((kernel, kernel, 2, 3)), stride, dilation=dilation)
    before_after = padding_amounts(size, kernel, stride, "same", dilation)
    received, pads = padding_handed_and_padding_run(layer, random((1, size, size, 2)))
    return received == ["same"] and pads == [[before_after] * 2]


configurations = [c for c in grid(size=(7, 8), kernel=range(1, 6), stride=(1, 2, 3), dilation=(1, 2))
                  if c["stride"] == 1 or c["dilation"] == 1]  # Keras refuses stride > 1 with dilation > 1
over(configurations, jax_pairs_are_tensorflows)
# --8<-- [end:jax_padding_claim]


# --8<-- [start:jaxpr]

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


# --8<-- [start:fit_rule]
import inspect

from keras.src.trainers import trainer

print(inspect.getsource(trainer.Trainer._resolve_auto_jit_compile))
print(inspect.getsource(trainer.model_supports_jit))
# --8<-- [end:fit_rule]


# --8<-- [start:fit]
from unittest import mock

from snippets.padding import output_size, padding_amounts

PAD_VALUE = 7.0
PADDINGS = ("Conv2D same", "ZeroPadding2D + valid", "pad 7 + valid")


def padded_model(x_shape, kernel, strides, padding):
    """A bias-free Conv2D with this kernel whose "same" amounts of padding (snippets/padding.py)
    come from the layer itself, from ZeroPadding2D, or from keras.ops.pad with the value 7,
    the last two before a "valid" Conv2D."""
    layers = [keras.Input(x_shape[1:])]
    pads = padding_amounts(x_shape[1], kernel.shape[0], strides, "same")
    if padding == "ZeroPadding2D + valid":
        layers.append(keras.layers.ZeroPadding2D((pads, pads)))
    elif padding == "pad 7 + valid":
        layers.append(keras.layers.Lambda(lambda x: keras.ops.pad(
            x, [(0, 0), pads, pads, (0, 0)], constant_values=PAD_VALUE)))
    layers.append(conv_layer(kernel, strides, padding.split()[-1]))
    return keras.Sequential(layers)


def fit_one_step(x, dy, kernel, strides, padding):
    """model.fit on one batch with SGD(learning_rate=1) and the loss sum(y * dy), whose gradient
    with respect to the output is dy: the kernel moves by minus its gradient."""
    model = padded_model(x.shape, kernel, strides, padding)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0),
                  loss=lambda dy, y: keras.ops.sum(dy * y),
                  jit_compile=True if XLA else "auto")
    model.fit(x, dy, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    return model, kernel - keras.ops.convert_to_numpy(model.layers[-1].kernel.value)


def auto_with_a_gpu(model):
    """Keras's "auto" rule run with a GPU added to the device list it reads on TensorFlow
    (the other backends' rule reads no device list). No GPU runs anything."""
    if backend != "tensorflow":
        return model._resolve_auto_jit_compile()
    import tensorflow as tf
    devices = tf.config.list_physical_devices()
    gpu = tf.config.PhysicalDevice("/physical_device:GPU:0", "GPU")
    with mock.patch.object(tf.config, "list_physical_devices", lambda *kind: [*devices, gpu]):
        return model._resolve_auto_jit_compile()


def training_step(kernel_size, strides, padding, size=7):
    """model.fit's kernel change, and the float64 NumPy kernel gradients of the input padded
    by the same amounts with the value the model pads with (0, or 7) and with zeros."""
    x, kernel = random((1, size, size, 2)), random((kernel_size, kernel_size, 2, 3))
    out = output_size(size, kernel_size, strides, "same")
    dy = random((1, out, out, 3))
    model, change = fit_one_step(x, dy, kernel, strides, padding)
    pads = padding_amounts(size, kernel_size, strides, "same")
    gradients = [reference.conv2d_grad_kernel(
        np.pad(x, [(0, 0), pads, pads, (0, 0)], constant_values=value), dy, kernel.shape,
        strides, "valid") for value in (PAD_VALUE if padding == "pad 7 + valid" else 0.0, 0.0)]
    return model, change, *gradients


model, *_ = training_step(4, 1, "Conv2D same")
print(f"compile(jit_compile={'True' if XLA else repr('auto')}) on this CPU-only machine:",
      f"jit_compile = {model.jit_compile}")
if not XLA:
    print("Keras's auto rule, run with a GPU added to the devices it lists (no GPU ran):",
          f"jit_compile = {auto_with_a_gpu(model)}")
# --8<-- [end:fit]


# --8<-- [start:fit_claim]
from docexec.checks import grid, over

XLA_IN_FIT = {"tensorflow": XLA, "jax": True, "torch": False}[backend]


def relative(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def calls_a_compiled_function(function, seen=()):
    """Does this function, or one it closes over, carry jax.jit's `lower` or torch.compile's wrapper mark?"""
    if hasattr(function, "lower") or hasattr(function, "_torchdynamo_orig_callable"):
        return True
    return any(callable(cell.cell_contents) and id(cell.cell_contents) not in seen
               and calls_a_compiled_function(cell.cell_contents, (*seen, id(cell.cell_contents)))
               for cell in getattr(function, "__closure__", None) or ())


def ran_compiled(model):
    """Did model.fit's step run compiled? On TensorFlow, read from the profiler's events of one more step
    (an XLA CPU executable and no TensorFlow convolution kernel, or the reverse); on JAX and PyTorch, from the
    train function fit ran: whether it calls a jax.jit-compiled step, or a torch.compile-d one."""
    if backend != "tensorflow":
        return calls_a_compiled_function(model.train_function)
    x, dy = random((1, *model.input_shape[1:])), random((1, *model.output_shape[1:]))
    events = profiled_events(model.train_on_batch, (x, dy))
    xla, kernels = "CpuExecutable::ExecuteAsyncOnStream" in events, any("Conv2D" in name for name in events)
    return {(True, False): True, (False, True): False}.get((xla, kernels))  # None: neither, or both


def fit_moves_by_the_padded_gradient(kernel, stride, padding):
    model, change, gradient, with_zeros = training_step(kernel, stride, padding)
    padded_cells_counted = padding != "pad 7 + valid" or relative(change, with_zeros) > 1e-3
    return (ran_compiled(model) == XLA_IN_FIT and padded_cells_counted
            and relative(change, gradient) <= ROUND_OFF)


over(grid(kernel=(3, 4), stride=(1, 2), padding=PADDINGS), fit_moves_by_the_padded_gradient)
# --8<-- [end:fit_claim]


# --8<-- [start:tf32_flags]
import tensorflow as tf  # noqa: F811 (this block runs in the page's default worker)
import torch  # noqa: F811

print("tf.config.experimental.tensor_float_32_execution_enabled():",
      tf.config.experimental.tensor_float_32_execution_enabled())
print("torch.backends.cudnn.allow_tf32:", torch.backends.cudnn.allow_tf32)
# --8<-- [end:tf32_flags]


# --8<-- [start:hlo]
import re


def optimised_hlo(model, x, dy):
    """XLA's optimised HLO of the loss sum(y * dy) of `model` and its gradients with respect to x
    and the kernel: the computation of model.fit's step, without Keras's train_step or the update."""
    kernels = [variable.value for variable in model.trainable_variables]
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function(jit_compile=True)
        def step(x, dy, kernels):
            with tf.GradientTape() as tape:
                tape.watch([x, kernels])
                y, _ = model.stateless_call(kernels, [], x)
                loss = tf.reduce_sum(y * dy)
            return loss, tape.gradient(loss, [x, kernels])

        return step.experimental_get_compiler_ir(tf.constant(x), tf.constant(dy), kernels)(
            stage="optimized_hlo")
    import jax

    def loss(x, kernels):
        y, _ = model.stateless_call(kernels, [], x)
        return (y * dy).sum()

    step = jax.value_and_grad(loss, argnums=(0, 1))
    return jax.jit(step).lower(x, kernels).compile().as_text()


INSTRUCTION = re.compile(r"= \w+\[(?P<shape>[\d,]*)\]\S* (?P<op>convolution|pad|slice)\(.*?"
                         r"(?P<attribute>window=\{[^}]*\}|padding=[\d_x-]+|slice=\{[^}]*\})")


def steps_that_matter(model, x_shape, dy_shape):
    """The convolutions, pads and slices of the optimised HLO, each with its output shape and
    the attribute that says how it pads, dilates or crops."""
    text = optimised_hlo(model, random(x_shape), random(dy_shape))
    return [(match["op"], tuple(map(int, match["shape"].split(","))), match["attribute"])
            for match in map(INSTRUCTION.search, text.splitlines()) if match]


def role(op, shape, x_shape, dy_shape):
    """What an instruction computes, told by its output shape."""
    if op == "pad":
        return "x, padded"
    if shape in (x_shape, dy_shape):
        return "dx" if shape == x_shape else "y"
    return "dx, padded shape" if (shape[0], shape[3]) == (x_shape[0], x_shape[3]) else "dkernel"


x_shape, kernel_shape = CASES["4x4 kernel"][:2]
dy_shape = (*x_shape[:3], kernel_shape[3])  # stride 1, "same": as large as the input
for padding in PADDINGS[:2]:
    model = padded_model(x_shape, random(kernel_shape), 1, padding)
    print(padding)
    for op, shape, attribute in steps_that_matter(model, x_shape, dy_shape):
        print(f"    {op:11} {role(op, shape, x_shape, dy_shape):16} {list(shape)!s:15} {attribute}")
# --8<-- [end:hlo]


# --8<-- [start:hlo_claim]
def window_of(attribute):
    """{"pad": [(lo, hi) per axis], "stride": n, ...} from window={...}; what XLA leaves
    out is its default (no padding, stride and dilations 1, no reversal)."""
    fields = dict(part.split("=") for part in attribute[len("window={"):-1].split())
    pad = [tuple(map(int, axis.split("_"))) for axis in fields.get("pad", "0_0x0_0").split("x")]
    defaults = {"stride": "1x1", "lhs_dilate": "1x1", "rhs_dilate": "1x1", "rhs_reversal": "0x0"}
    return {"pad": pad, **{name: int(fields.get(name, default).split("x")[0])
                           for name, default in defaults.items()}}


def window(pad, stride=1, lhs_dilate=1, rhs_dilate=1, rhs_reversal=0):
    return {"pad": [pad] * 2, "stride": stride, "lhs_dilate": lhs_dilate,
            "rhs_dilate": rhs_dilate, "rhs_reversal": rhs_reversal}


def pads_follow_padding_py(kernel, stride, size):
    """The fused case's two convolutions pad as padding.py's (before, after) implies and the
    explicit case pads by it and slices it off; both read from the optimised HLO."""
    before, after = padding_amounts(size, kernel, stride, "same")
    last = (output_size(size, kernel, stride, "same") - 1) * stride  # the last window's start
    out = output_size(size, kernel, stride, "same")
    x_shape, dy_shape = (1, size, size, 2), (1, out, out, 3)
    weights = random((kernel, kernel, 2, 3))
    fused = steps_that_matter(padded_model(x_shape, weights, stride, PADDINGS[0]), x_shape, dy_shape)
    windows = {role(op, shape, x_shape, dy_shape): window_of(attribute)
               for op, shape, attribute in fused}
    # dx in either of XLA's two forms: dy spread by the stride, slid over by the reversed kernel;
    # or the kernel, slid over by dy spread and reversed
    dx_forms = [window((kernel - 1 - before, size + before - last - 1), lhs_dilate=stride),
                window((last - before, size + before - kernel), rhs_dilate=stride, rhs_reversal=1)]
    fused_ok = ([op for op, _, _ in fused] == ["convolution"] * 3
                and windows.get("y") == window((before, after), stride=stride)
                and windows.get("dx") in dx_forms
                and windows.get("dkernel") == window((before, kernel + last - size - before),
                                                     rhs_dilate=stride))
    explicit = steps_that_matter(padded_model(x_shape, weights, stride, PADDINGS[1]), x_shape, dy_shape)
    attributes = {op: attribute for op, _, attribute in explicit if op != "convolution"}
    forward = [window_of(attribute) for op, shape, attribute in explicit
               if op == "convolution" and shape == dy_shape]
    explicit_ok = attributes == ({} if before == after == 0 else {  # no zeros: nothing to add
        "pad": f"padding=0_0x{before}_{after}x{before}_{after}x0_0",
        "slice": f"slice={{[0:1], [{before}:{before + size}], [{before}:{before + size}], [0:2]}}"})
    return fused_ok and explicit_ok and forward == [window((before, after), stride=stride)]


over(grid(kernel=(2, 3, 4, 5), stride=(1, 2, 3), size=(7, 8)), pads_follow_padding_py)
# --8<-- [end:hlo_claim]
