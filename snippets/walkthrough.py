# --8<-- [start:imports]
import os

# Keep TensorFlow's start-up log out of the outputs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from snippets import keras_ref
from snippets.conv import conv2d_grad_input_loop
from snippets.conv import conv2d_grad_kernel_loop
from snippets.padding import output_size, same_padding

rng = np.random.default_rng(0)
# --8<-- [end:imports]

# --8<-- [start:same_rule]
for k, s in [(3, 1), (4, 1), (3, 2)]:
    pads = same_padding(8, k, s)
    size = output_size(8, k, s, "same")
    print(f"n=8, k={k}, stride {s}: pads {pads}, {size} outputs")
# --8<-- [end:same_rule]

# --8<-- [start:input_gradient]
x = rng.normal(size=(1, 5, 5, 1)).astype("float32")
kernel = rng.normal(size=(3, 3, 1, 1)).astype("float32")
dy = rng.normal(size=(1, 5, 5, 1)).astype("float32")
x_padded = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)])

grad_input = keras_ref.conv2d_grad_input
dx_keras = grad_input(dy, kernel, x.shape, padding="same")
dx_padded = grad_input(dy, kernel, x_padded.shape, padding="valid")
dx_loop = conv2d_grad_input_loop(dy, kernel, x.shape, padding="same")
print("border gradient non-zero:", bool(np.any(dx_padded[0, 0] != 0)))
print("cropped == Keras:", np.allclose(dx_padded[:, 1:-1, 1:-1], dx_keras, atol=1e-5))
print("loop == Keras:", np.allclose(dx_loop, dx_keras, atol=1e-5))
print(np.round(dx_keras[0, :, :, 0], 4))
# --8<-- [end:input_gradient]

# --8<-- [start:kernel_gradient]
grad_kernel = keras_ref.conv2d_grad_kernel
dk_keras = grad_kernel(x, dy, kernel.shape, padding="same")
dk_padded = grad_kernel(x_padded, dy, kernel.shape, padding="valid")
dk_loop = conv2d_grad_kernel_loop(x, dy, kernel.shape, padding="same")
print("same == valid on padded:", np.allclose(dk_keras, dk_padded, atol=1e-5))
print("loop == Keras:", np.allclose(dk_loop, dk_keras, atol=1e-5))
print(np.round(dk_keras[:, :, 0, 0], 4))
# --8<-- [end:kernel_gradient]

# --8<-- [start:padding_gradient]
import tensorflow as tf

line = tf.constant([1.0, 2.0, 3.0, 4.0])
with tf.GradientTape(persistent=True) as tape:
    tape.watch(line)
    zero_padded = tf.pad(line, [[1, 1]])
    reflected = tf.pad(line, [[1, 1]], mode="REFLECT")
print("zeros:  ", tape.gradient(zero_padded, line).numpy())
print("reflect:", tape.gradient(reflected, line).numpy())
# --8<-- [end:padding_gradient]

# --8<-- [start:versions]
import keras

# The libraries that produced every output above.
print(f"NumPy {np.__version__}, TensorFlow {tf.__version__}, Keras {keras.__version__}")
# --8<-- [end:versions]
