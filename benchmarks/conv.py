"""Loop vs vectorised (snippets.conv, float64) vs Keras (float32) on one realistic layer.

Layer: batch 8, 32x32x16 -> 32 channels, 3x3 kernel, "same", stride 1.
Prints the best of several runs of each, as a ratio to Keras (lower is faster).

Keras timings: the forward pass is a call of a keras.layers.Conv2D; a gradient
is tape.gradient on a persistent tape that recorded the forward pass once, so
only the backward op (Conv2DBackpropInput / Conv2DBackpropFilter) is timed.

Run: .venv/bin/python benchmarks/conv.py
"""

import os
import sys
import time

import numpy as np

from snippets import conv, keras_ref

tf = keras_ref.tf
BATCH, SIZE, C_IN, C_OUT, K = 8, 32, 16, 32, 3
REPEATS = 30
LOOP_REPEATS = 3  # the loop versions are for reading, and 10-60x slower


def best_times(label, functions, repeats):
    """Best wall time of each function over `repeats` rounds. Each round runs
    every function once, so a busy machine slows all of them alike."""
    print(f"timing {label}: {len(functions)} functions x {repeats} rounds",
          file=sys.stderr, flush=True)
    for function in functions.values():
        function()  # warm-up: first-call allocation and dispatch
    best = dict.fromkeys(functions, float("inf"))
    for round_ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            best[name] = min(best[name], time.perf_counter() - start)
        print(f"  round {round_ + 1}/{repeats}", file=sys.stderr, flush=True)
    return best


def keras_functions(x, kernel, dy):
    layer = keras_ref._keras_layer(kernel, 1, "same", 1)
    x = tf.constant(x, tf.float32)
    dy = tf.constant(dy, tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = layer(x)
    return {
        ("Keras", "forward"): lambda: layer(x).numpy(),
        ("Keras", "grad input"): lambda: tape.gradient(y, x, output_gradients=dy).numpy(),
        ("Keras", "grad kernel"):
            lambda: tape.gradient(y, layer.kernel, output_gradients=dy).numpy(),
    }


def numpy_functions(x, kernel, dy, suffix):
    name = "loop" if suffix else "vectorised"
    forward = getattr(conv, "conv2d" + suffix)
    grad_input = getattr(conv, "conv2d_grad_input" + suffix)
    grad_kernel = getattr(conv, "conv2d_grad_kernel" + suffix)
    return {
        (name, "forward"): lambda: forward(x, kernel, 1, "same", 1),
        (name, "grad input"): lambda: grad_input(dy, kernel, x.shape, 1, "same", 1),
        (name, "grad kernel"): lambda: grad_kernel(x, dy, kernel.shape, 1, "same", 1),
    }


def main():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, SIZE, SIZE, C_IN)).astype(np.float32).astype(np.float64)
    kernel = rng.standard_normal((K, K, C_IN, C_OUT)).astype(np.float32).astype(np.float64)
    dy = rng.standard_normal((BATCH, SIZE, SIZE, C_OUT)).astype(np.float32).astype(np.float64)
    best = best_times("Keras and vectorised", {**keras_functions(x, kernel, dy),
                                               **numpy_functions(x, kernel, dy, "")},
                      REPEATS)
    best |= best_times("loop", numpy_functions(x, kernel, dy, "_loop"), LOOP_REPEATS)
    print(f"conv2d: batch {BATCH}, {SIZE}x{SIZE}x{C_IN} -> {C_OUT} channels, "
          f"{K}x{K}, 'same', stride 1; {os.cpu_count()} CPUs")
    print(f"NumPy {np.__version__} (float64), TensorFlow {tf.__version__} / "
          f"Keras {keras_ref.keras.__version__} (float32)")
    print(f"best of {REPEATS} rounds (loop: {LOOP_REPEATS} rounds, same batch); "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    print("time / Keras time; Keras's own time in ms\n")
    names = ["loop", "vectorised", "Keras"]
    print(f"{'':12}" + "".join(f"{name:>14}" for name in names) + f"{'Keras ms':>12}")
    for quantity in ["forward", "grad input", "grad kernel"]:
        keras_time = best[("Keras", quantity)]
        ratios = [best[(name, quantity)] / keras_time for name in names]
        print(f"{quantity:12}" + "".join(f"{ratio:>13.1f}x" for ratio in ratios)
              + f"{keras_time * 1e3:>12.2f}")


if __name__ == "__main__":
    main()
