"""In practice: what padding changes for someone building a Keras model: edge effects,
the padding modes Keras offers and pooling. Porting to PyTorch is in snippets/porting.py,
what padding costs in memory in snippets/cost.py."""

# --8<-- [start:setup]
import keras
import numpy as np
import tensorflow as tf

from snippets import keras_ref
from snippets.show import image


def pad_hw(x, before, after, mode="constant"):
    """Pad the height and width of an NHWC batch, (before, after) on each."""
    return np.pad(x, [(0, 0), (before, after), (before, after), (0, 0)], mode)
# --8<-- [end:setup]


# --8<-- [start:edge_cue]
flat = np.ones((1, 6, 6, 1))  # a constant image: no pixel differs
kernel_ones = np.ones((3, 3, 1, 1))
y_zeros = keras_ref.conv2d(flat, kernel_ones, padding="same")
y_reflect = keras_ref.conv2d(pad_hw(flat, 1, 1, "reflect"), kernel_ones)
print("zero padding ('same'):", image(y_zeros), sep="\n")
print("reflect padding, then 'valid':", image(y_reflect), sep="\n")
# --8<-- [end:edge_cue]


# --8<-- [start:edge_cue_claim]
bool(len(np.unique(y_zeros)) > 1 and len(np.unique(y_reflect)) == 1)
# --8<-- [end:edge_cue_claim]


# --8<-- [start:padding_layers]
padding_layers = sorted(name for name in dir(keras.layers) if "Padding" in name)
print("padding layers in keras.layers:", ", ".join(padding_layers))
# --8<-- [end:padding_layers]


# --8<-- [start:reflect_refused_claim]
# Not a raises= block: Keras's message lists the allowed values as a Python
# set, whose order changes from one run to the next.
def conv2d_accepts(padding):
    """Does keras.layers.Conv2D accept this padding when the layer is created?"""
    try:
        keras.layers.Conv2D(1, 3, padding=padding)
    except ValueError as error:
        if "padding" not in str(error):
            raise  # refused for another reason: not what this checks
        return False
    return True


(conv2d_accepts("same") and not conv2d_accepts("reflect")
 and padding_layers == ["ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D"])
# --8<-- [end:reflect_refused_claim]


# --8<-- [start:ops_pad]
line = tf.constant([1.0, 2.0, 3.0, 4.0])
mode_gradients = {}
for mode in ("constant", "reflect", "symmetric"):
    with tf.GradientTape() as tape:
        tape.watch(line)
        padded_line = keras.ops.pad(line, [[1, 1]], mode=mode)
    mode_gradients[mode] = tape.gradient(padded_line, line).numpy().astype(int)
    print(f"{mode:9} padded {padded_line.numpy().astype(int)}, "
          f"gradient of its sum {mode_gradients[mode]}")
# --8<-- [end:ops_pad]


# --8<-- [start:ops_pad_claim]
(
    mode_gradients["constant"].tolist() == [1, 1, 1, 1]
    and mode_gradients["reflect"].tolist() == [1, 2, 2, 1]
    and mode_gradients["symmetric"].tolist() == [2, 1, 1, 2]
)
# --8<-- [end:ops_pad_claim]
