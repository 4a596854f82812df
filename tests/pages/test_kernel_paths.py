"""What each TensorFlow CPU kernel path does where the two differ, forced in a subprocess.

The same TensorFlow wheel runs Eigen kernels on most CPUs and oneDNN kernels on CPUs with
AVX512-VNNI, AVX512-BF16 or AMX (or with TF_ENABLE_ONEDNN_OPTS=1). The two agree to float32
round-off wherever both compute, but not at the edges below, so each path's behaviour is
asserted for that path, whichever one this machine picks by default.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = r"""
import json, tensorflow as tf
from tensorflow.python.util import _pywrap_util_port
facts = {"onednn": bool(_pywrap_util_port.IsMklEnabled())}

x, kernel = tf.ones((1, 6, 6, 1)), tf.ones((2, 2, 1, 1))
for wrt in ("input", "kernel"):
    with tf.GradientTape() as tape:
        tape.watch([x, kernel])
        y = tf.nn.conv2d(x, kernel, 1, "VALID", dilations=2)
    try:
        gradient = tape.gradient(y, x if wrt == "input" else kernel)
        facts["dilated_" + wrt] = float(tf.reduce_sum(gradient))
    except tf.errors.InvalidArgumentError as error:
        facts["dilated_" + wrt] = error.message

# VALID convolutions whose kernel (length 3) is longer than the input (length 2).
facts["too_long"] = tf.nn.conv1d(tf.ones((1, 2, 1)), tf.ones((3, 1, 1)), 1, "VALID").shape[1]
try:
    tf.nn.conv1d(tf.ones((1, 5, 1)), tf.ones((7, 1, 1)), 1, "VALID")
    facts["much_too_long"] = "no error"
except tf.errors.InvalidArgumentError as error:
    facts["much_too_long"] = error.message
print(json.dumps(facts))
"""

REFUSES_DILATION = "Current CPU implementations do not yet support dilation rates larger than 1"


@pytest.fixture(scope="module", params=["eigen", "onednn"])
def path_facts(request):
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1" if request.param == "onednn" else "0",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    facts = json.loads(run.stdout.strip().splitlines()[-1])
    assert facts["onednn"] == (request.param == "onednn"), "TF_ENABLE_ONEDNN_OPTS did not pick the path"
    return request.param, facts


def test_dilated_gradients(path_facts):
    """Eigen's CPU gradient kernels refuse dilation > 1 (why snippets.keras_ref compiles the
    gradients of dilated tf.nn convolutions with XLA); oneDNN's compute them."""
    path, facts = path_facts
    for wrt in ("input", "kernel"):
        if path == "eigen":
            assert REFUSES_DILATION in facts["dilated_" + wrt]
        else:
            # A 2x2 kernel of ones, dilation 2, on a 6x6 image of ones: 4x4 outputs of 4 taps
            # each, so dx and dW both sum to 16 * 4.
            assert facts["dilated_" + wrt] == 64.0


def test_valid_convolution_with_a_kernel_longer_than_the_input(path_facts):
    """No window fits, so there is no output: TensorFlow's shape function refuses it
    (tests/test_padding.py). Run eagerly, Eigen returns an empty output where oneDNN returns
    a non-empty one, a defect of that kernel path; both raise once the kernel is long enough."""
    path, facts = path_facts
    assert facts["too_long"] == (0 if path == "eigen" else 2)
    assert "Computed output size would be negative" in facts["much_too_long"]


def test_this_process_path_is_detected(tensorflow_cpu_path):
    forced = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    if forced in ("0", "1"):
        assert tensorflow_cpu_path == ("onednn" if forced == "1" else "eigen")
    else:
        assert tensorflow_cpu_path in ("onednn", "eigen")


POINTWISE_PROBE = r"""
import json, keras, numpy as np, tensorflow as tf
from tensorflow.python.util import _pywrap_util_port
assert _pywrap_util_port.IsMklEnabled(), "oneDNN is not on"
rng, errors = np.random.default_rng(0), {"op": [], "layer": [], "xla": []}


def layer_gradient(conv, x, dy):
    with tf.GradientTape() as tape:
        y = conv(x)
    return tape.gradient(y, conv.kernel.value, output_gradients=dy)


for size in (8, 10, 12, 14, 16):
    # the same layer's gradient compiled by XLA (jit_compile=True), x and dy passed in as model.fit passes them
    compiled = keras.layers.Conv2D(3, 1, strides=2, padding="same", use_bias=False)
    compiled.build((1, size, size, 2))
    xla = tf.function(lambda x, dy: layer_gradient(compiled, x, dy), jit_compile=True)
    for _ in range(40):
        x = rng.normal(size=(1, size, size, 2)).astype(np.float32)
        dy = rng.normal(size=(1, size // 2, size // 2, 3)).astype(np.float32)
        expected = np.einsum("nhwc,nhwo->co", x[:, ::2, ::2].astype(np.float64), dy.astype(np.float64))
        dkernel = tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=[1, 1, 2, 3], out_backprop=dy,
                                                  strides=[1, 2, 2, 1], padding="VALID").numpy()
        errors["op"].append(float(np.abs(dkernel[0, 0] - expected).max()))
        # the same gradient through a Keras layer, as model.fit takes it (a GradientTape)
        conv = keras.layers.Conv2D(3, 1, strides=2, padding="same", use_bias=False)
        conv.build(x.shape)
        dkernel = layer_gradient(conv, tf.constant(x), tf.constant(dy)).numpy()
        errors["layer"].append(float(np.abs(dkernel[0, 0] - expected).max()))
        dkernel = xla(tf.constant(x), tf.constant(dy)).numpy()
        errors["xla"].append(float(np.abs(dkernel[0, 0] - expected).max()))
print(json.dumps({way: max(values) for way, values in errors.items()}))
"""


def test_pointwise_kernel_gradient_on_onednn():
    """docs/appendix.md, "oneDNN's kernel gradient of a strided 1x1 convolution": with oneDNN on the CPU's
    whole instruction set (ONEDNN_MAX_CPU_ISA unset), TensorFlow 2.21's kernel gradient of a 1x1 kernel at
    strides 2 and 3 is wrong far beyond round-off for several sizes, varying from run to run (seen on an
    AVX2 CPU), or aborts the process (seen once on an AVX-512 CPU); this probes even sizes at stride 2, through
    the op and through a Keras Conv2D(3, 1, strides=2, padding="same") layer, and checks that the layer's gradient
    compiled by XLA (jit_compile=True, the page's third way to avoid it) is right.
    When this fails, TensorFlow got it right on this CPU, or XLA got it wrong: rewrite that section."""
    env = {key: value for key, value in os.environ.items() if key != "ONEDNN_MAX_CPU_ISA"}
    env.update(TF_ENABLE_ONEDNN_OPTS="1", TF_CPP_MIN_LOG_LEVEL="3")
    run = subprocess.run([sys.executable, "-c", POINTWISE_PROBE], capture_output=True, text=True, env=env,
                         timeout=300)
    aborted = run.returncode < 0 or "corrupted" in run.stderr
    worst = json.loads(run.stdout.strip().splitlines()[-1]) if run.returncode == 0 else {}
    assert aborted or (worst["op"] > 1e-2 and worst["layer"] > 1e-2), (
        f"oneDNN computed every 1x1 stride-2 kernel gradient right, through the op or the Keras layer "
        f"(exit {run.returncode}):\n{run.stdout}{run.stderr}")
    if not aborted:
        assert worst["xla"] <= 1e-4, f"XLA's 1x1 stride-2 kernel gradient is wrong on oneDNN too: {worst}"


INFINITE_DY_PROBE = r"""
import json, keras, numpy as np, tensorflow as tf
from tensorflow.python.util import _pywrap_util_port
assert _pywrap_util_port.IsMklEnabled(), "oneDNN is not on"
rng, facts = np.random.default_rng(0), []
for size, kernel, stride in [(6, 3, 1), (7, 4, 1), (7, 3, 2)]:  # each pads before the first output
    x = tf.constant(rng.normal(size=(1, size, size, 2)).astype(np.float32))
    dy = rng.normal(size=(1, -(-size // stride), -(-size // stride), 3)).astype(np.float32)
    dy[0, 0, 0, 0] = np.inf  # an output whose window reads padding
    nan = {}
    for name, padding in [("fused", None), ("explicit", "ZeroPadding2D")]:
        total = max((-(-size // stride) - 1) * stride + kernel - size, 0)  # TensorFlow's "same" rule
        before, after = total // 2, total - total // 2
        layers = ([keras.layers.ZeroPadding2D(((before, after), (before, after)))] if padding else []) + [
            keras.layers.Conv2D(3, kernel, strides=stride, padding="valid" if padding else "same", use_bias=False)]
        model = keras.Sequential(layers)
        model.build(x.shape)
        with tf.GradientTape() as tape:
            y = model(x)
        dkernel = tape.gradient(y, model.layers[-1].kernel.value, output_gradients=tf.constant(dy)).numpy()
        nan[name] = int(np.isnan(dkernel).sum())
    facts.append(nan)
print(json.dumps(facts))
"""


def test_infinite_dy_kernel_gradient_on_onednn():
    """docs/appendix.md, "Kernel gradients where dy is infinite": with oneDNN on the CPU's whole
    instruction set, TensorFlow 2.21's kernel gradient of a fused Conv2D(padding="same") is finite at the
    taps that read padding when dy holds an inf there (seen on an AVX2 CPU), where ZeroPadding2D and a
    "valid" Conv2D give NaN (0 x inf), as Eigen gives for both (the page's build claim).
    When this fails, oneDNN gives NaN on this CPU too: rewrite that section."""
    env = {key: value for key, value in os.environ.items() if key != "ONEDNN_MAX_CPU_ISA"}
    env.update(TF_ENABLE_ONEDNN_OPTS="1", TF_CPP_MIN_LOG_LEVEL="3")
    run = subprocess.run([sys.executable, "-c", INFINITE_DY_PROBE], capture_output=True, text=True, env=env,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    facts = json.loads(run.stdout.strip().splitlines()[-1])
    assert all(case["explicit"] > 0 for case in facts), facts  # the padded zeros give 0 x inf
    assert all(case["fused"] == 0 for case in facts), (
        f"oneDNN's fused kernel gradient has NaN where dy is inf: {facts}")
