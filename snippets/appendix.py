"""Appendix: upstream defects, each checked to behave as it does today, so that the build fails the day
one is fixed and the pages that mention it are updated. Runs on the backends its blocks name."""

# --8<-- [start:setup]
import numpy as np

from docexec.checks import grid, over
from snippets.pooling import is_lopsided, keras_pool, pool_edge_replicated, pool_real_cells, signed_input
# --8<-- [end:setup]


# --8<-- [start:pooling_torch_claim]
def pools_like_keras_on_torch_today(size, pool, stride):
    """Averages: real cells where "same" pads both sides alike, the edge-replicated input where it is
    lopsided (keras/src/backend/torch/nn.py pads those with mode="replicate"). Maxima: real cells."""
    x = signed_input(size, pool, stride)
    expected = pool_edge_replicated if is_lopsided(size, pool, stride) else pool_real_cells
    below_zero = x - x.max() - 1
    return bool(np.allclose(keras_pool("average", x, pool, stride), expected("average", x, pool, stride), atol=1e-5)
                and np.allclose(keras_pool("max", below_zero, pool, stride),
                                pool_real_cells("max", below_zero, pool, stride), atol=1e-5))


over(grid(size=range(1, 9), pool=range(1, 5), stride=range(1, 4)), pools_like_keras_on_torch_today)
# --8<-- [end:pooling_torch_claim]
