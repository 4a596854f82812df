"""The engine's demo page: what a page can ask of docexec (output, figures,
claims, expected errors), in the smallest examples."""

# --8<-- [start:setup]
import matplotlib.pyplot as plt
import numpy as np
# --8<-- [end:setup]

# --8<-- [start:array]
x = np.arange(12, dtype=np.float64).reshape(3, 4) / 3 - 1
x
# --8<-- [end:array]

# --8<-- [start:figure_drawing]
def draw_row(row):
    """A line plot of one row, each entry marked."""
    figure, axes = plt.subplots(figsize=(4, 2.5))
    axes.plot(row, marker="o")
    axes.set_xlabel("index")
    axes.set_ylabel("x[0]")
    return figure
# --8<-- [end:figure_drawing]

# --8<-- [start:figure]
figure = draw_row(x[0])
# --8<-- [end:figure]

# --8<-- [start:claim]
kernel = np.array([1.0, 2.0, 0.0])
bool(np.allclose(np.convolve(x[0], kernel), np.correlate(x[0], kernel[::-1], "full"))
     and not np.allclose(np.convolve(x[0], kernel), np.correlate(x[0], kernel, "full")))
# --8<-- [end:claim]

# --8<-- [start:expected_error]
np.zeros((2, 3)) @ np.zeros((2, 3))
# --8<-- [end:expected_error]

# --8<-- [start:escaping]
print("<script>alert(1)</script>")
# --8<-- [end:escaping]
