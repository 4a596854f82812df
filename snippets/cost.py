"""What padding costs in memory: Conv2D(padding="same") against ZeroPadding2D + a "valid"
Conv2D, read from what TensorFlow traces and runs and from what XLA compiles on the CPU.
Every figure is a shape or a byte count, never a time.
"""

# --8<-- [start:setup]
import keras
import numpy as np

from docexec.checks import grid, over
from snippets.padding import same_padding

backend = keras.backend.backend()
CHANNELS = 16
FLOAT32 = 4  # bytes


def models(size, kernel, stride, bias=False):
    """Conv2D(padding="same") and ZeroPadding2D + Conv2D("valid") with the same kernel
    (and bias, if any), padded by TensorFlow's (before, after) on each spatial axis."""
    before, after = same_padding(size, kernel, stride)
    shape = (size, size, CHANNELS)
    fused = keras.Sequential([keras.Input(shape), keras.layers.Conv2D(
        CHANNELS, kernel, strides=stride, padding="same", use_bias=bias)])
    explicit = keras.Sequential([keras.Input(shape),
                                 keras.layers.ZeroPadding2D(((before, after), (before, after))),
                                 keras.layers.Conv2D(CHANNELS, kernel, strides=stride, use_bias=bias)])
    explicit.set_weights(fused.get_weights())
    return fused, explicit


def padded_shape(size, kernel, stride):
    before, after = same_padding(size, kernel, stride)
    return (1, size + before + after, size + before + after, CHANNELS)


def nbytes(shape):
    return int(np.prod(shape)) * FLOAT32


# Where "same" adds zeros: kernel 2 at stride 2 on an even size adds none.
GRID = [configuration for configuration in grid(kernel=(2, 3, 4, 5), stride=(1, 2), size=(31, 32))
        if sum(same_padding(configuration["size"], configuration["kernel"], configuration["stride"]))]
# --8<-- [end:setup]


# --8<-- [start:tf_setup]
import tensorflow as tf  # noqa: E402 (its blocks run in different workers)
from tensorflow.python.eager import context  # noqa: E402
from tensorflow.python.util import _pywrap_util_port  # noqa: E402


def step_function(model, training):
    """A training step (the loss sum(y * y), gradients for x and the kernel) or inference (y)."""
    @tf.function(autograph=False)
    def train(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = model(x)
            loss = tf.reduce_sum(y * y)
        return loss, tape.gradient(loss, [x, *model.trainable_variables])

    @tf.function(autograph=False)
    def infer(x):
        return model(x)

    return train if training else infer


def traced_tensors(model, size, training=True):
    """The float tensors of the traced graph's Pad, Slice and convolution ops: (op, shape, bytes)."""
    graph = step_function(model, training).get_concrete_function(
        tf.TensorSpec((1, size, size, CHANNELS))).graph
    return [(op.type, tuple(t.shape), nbytes(t.shape)) for op in graph.get_operations()
            if op.type in ("Pad", "Slice") or "Conv" in op.type
            for t in op.outputs if t.dtype == tf.float32]


def kernels_ran(model, size, training=False):
    """The op kernels TensorFlow ran for the step, after its runtime's graph rewrites:
    the Pad, Slice and convolution kernels, sorted."""
    x = tf.constant(np.ones((1, size, size, CHANNELS), "float32"))
    context.enable_run_metadata()
    try:
        step_function(model, training)(x)
        metadata = context.export_run_metadata()
    finally:
        context.disable_run_metadata()
    return sorted(node.op for function in metadata.function_graphs
                  for partition in function.partition_graphs for node in partition.node
                  if "Pad" in node.op or "Slice" in node.op or "Conv" in node.op)


onednn = _pywrap_util_port.IsMklEnabled()  # the kernel path this process's TensorFlow runs
# --8<-- [end:tf_setup]


# --8<-- [start:traced]
fused, explicit = models(32, 3, 1)
print(f"a training step on a 1x32x32x{CHANNELS} input, 3x3 kernel, stride 1")
for name, model in [("Conv2D('same')", fused), ("ZeroPadding2D + Conv2D('valid')", explicit)]:
    print(name)
    for op, shape, size in traced_tensors(model, 32):
        print(f"    {op:22} {list(shape)!s:17} {size:6} bytes")
# --8<-- [end:traced]


# --8<-- [start:traced_claim]
def padded_copy_in_training(kernel, stride, size):
    fused, explicit = models(size, kernel, stride)
    x = np.random.default_rng(kernel + stride + size).normal(
        size=(1, size, size, CHANNELS)).astype("float32")
    same_numbers = np.allclose(explicit(x), fused(x), rtol=1e-5, atol=1e-5)
    padded, unpadded = padded_shape(size, kernel, stride), (1, size, size, CHANNELS)
    ops, fused_ops = traced_tensors(explicit, size), traced_tensors(fused, size)
    return bool(same_numbers
                and not [op for op, _, _ in fused_ops if op in ("Pad", "Slice")]
                and [(op, shape) for op, shape, _ in fused_ops if op == "Conv2DBackpropInput"]
                == [("Conv2DBackpropInput", unpadded)]
                and [(op, shape) for op, shape, _ in ops if op == "Pad"] == [("Pad", padded)]
                and ("Conv2DBackpropInput", padded, nbytes(padded)) in ops
                and [(op, shape) for op, shape, _ in ops if op == "Slice"] == [("Slice", unpadded)])


over(GRID, padded_copy_in_training)
# --8<-- [end:traced_claim]


# --8<-- [start:inference]
print("kernel path:", "oneDNN" if onednn else "Eigen")
for bias in (False, True):
    print(f"use_bias={bias}")
    for name, model in zip(("Conv2D('same')", "ZeroPadding2D + Conv2D('valid')"),
                           models(32, 3, 1, bias)):
        print(f"  {name:32} inference: {kernels_ran(model, 32)}")
        print(f"  {'':32} training:  {kernels_ran(model, 32, training=True)}")
# --8<-- [end:inference]


# --8<-- [start:inference_claim]
def pad_kernel_runs(kernel, stride, size, bias):
    """Inference: oneDNN runs the Pad inside _MklNativePadWith(Fused)Conv2D, Eigen runs a
    Pad kernel; training: both run a Pad kernel, since the kernel gradient reads the padded
    copy too. A bias makes the convolution a fused one (convolution + BiasAdd)."""
    fused, explicit = models(size, kernel, stride, bias)
    conv = "FusedConv2D" if bias else "Conv2D"
    if onednn:
        same, padded = ["_MklNative" + conv], ["_MklNativePadWith" + conv]
    else:
        same = ["_" + conv if bias else conv]
        padded = sorted(same + ["Pad"])
    return (kernels_ran(fused, size) == same
            and kernels_ran(explicit, size) == padded
            and "Pad" in kernels_ran(explicit, size, training=True))


over([dict(configuration, bias=bias) for configuration in GRID for bias in (False, True)],
     pad_kernel_runs)
# --8<-- [end:inference_claim]


# --8<-- [start:xla_setup]
import re  # noqa: E402

INSTRUCTION = re.compile(r"^\s*(ROOT )?%(?P<name>[\w.-]+) = f32\[(?P<shape>[\d,]+)\]")


def optimised_hlo(model, size, training):
    """XLA's optimised HLO on the CPU of a training step (loss sum(y * y), gradients for x
    and the kernel) or of inference: TensorFlow with jit_compile=True, or jax.jit."""
    x = np.ones((1, size, size, CHANNELS), "float32")
    kernels = [variable.value for variable in model.trainable_variables]

    def forward(x, kernels):
        return model.stateless_call(kernels, [], x)[0]

    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function(jit_compile=True, autograph=False)
        def train(x, kernels):
            with tf.GradientTape() as tape:
                tape.watch([x, kernels])
                loss = tf.reduce_sum(forward(x, kernels) ** 2)
            return tape.gradient(loss, [x, kernels])

        step = train if training else tf.function(forward, jit_compile=True, autograph=False)
        return step.experimental_get_compiler_ir(tf.constant(x), kernels)(stage="optimized_hlo")
    import jax

    def loss(x, kernels):
        return (forward(x, kernels) ** 2).sum()

    step = jax.grad(loss, argnums=(0, 1)) if training else forward
    return jax.jit(step).lower(x, kernels).compile().as_text()


def padded_buffers(model, size, kernel, stride, training=True):
    """The buffers of the compiled entry computation that have the padded height and width:
    (instruction, shape, bytes)."""
    side = padded_shape(size, kernel, stride)[1]
    lines = optimised_hlo(model, size, training).splitlines()
    entry = lines[next(i for i, line in enumerate(lines) if line.startswith("ENTRY")) + 1:]
    entry = entry[:next(i for i, line in enumerate(entry) if line.startswith("}"))]
    found = [(match["name"], tuple(map(int, match["shape"].split(","))))
             for match in map(INSTRUCTION.match, entry) if match]
    return [(name, shape, nbytes(shape)) for name, shape in found if shape.count(side) == 2]
# --8<-- [end:xla_setup]


# --8<-- [start:xla]
fused, explicit = models(32, 3, 1)
print(f"XLA on the CPU, 1x32x32x{CHANNELS} input, 3x3 kernel, stride 1: buffers 34x34 wide")
for name, model in [("Conv2D('same')", fused), ("ZeroPadding2D + Conv2D('valid')", explicit)]:
    for training in (False, True):
        buffers = padded_buffers(model, 32, 3, 1, training)
        print(f"{name:32} {'training' if training else 'inference':9}",
              ", ".join(f"{shape} {size} bytes" for _, shape, size in buffers) or "none")
# --8<-- [end:xla]


# --8<-- [start:xla_claim]
def padded_buffers_only_for_explicit_gradients(kernel, stride, size):
    fused, explicit = models(size, kernel, stride)
    side = padded_shape(size, kernel, stride)[1]
    kept = sorted((shape, name.split("-")[0].rstrip(".0123456789"))
                  for name, shape, _ in padded_buffers(explicit, size, kernel, stride))
    # a convolution's output on the padded shape is dx before its crop (y is never padded);
    # the fusion moves the batch into the channels: the padded input, for dkernel
    return (kept == [((1, side, side, CHANNELS), "convolution"),
                     ((CHANNELS, side, side, 1), "transpose_copy_fusion")]
            and not padded_buffers(explicit, size, kernel, stride, training=False)
            and not padded_buffers(fused, size, kernel, stride)
            and not padded_buffers(fused, size, kernel, stride, training=False))


over(GRID, padded_buffers_only_for_explicit_gradients)
# --8<-- [end:xla_claim]
