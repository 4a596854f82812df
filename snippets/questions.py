"""Questions readers ask: the numbers the short answers quote, computed when the page is built (the
answers link the checked claims behind them)."""

# --8<-- [start:numbers]
import numpy as np

from snippets import keras_ref
from snippets.padding import same_padding

# Porting from PyTorch: a 3x3 kernel at stride 2 on a 6x6 input.
port_before, port_after = same_padding(6, 3, 2)
# Where the odd zero goes: a 4x4 kernel on a 5x5 input at stride 1.
odd_before, odd_after = same_padding(5, 4)
# "valid" at stride 2: the pixels of 6 that a 3-wide kernel's windows never read get no gradient from Keras.
unread_dx = keras_ref.conv1d_grad_input(np.ones((1, 2, 1)), np.ones((3, 1, 1)), (1, 6, 1), strides=2)
unread = np.flatnonzero(unread_dx[0, :, 0] == 0).tolist()
# --8<-- [end:numbers]
