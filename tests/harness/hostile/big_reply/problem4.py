"""Red team: softmax returns huge answers.

* a vector of length 2 → a 100 MB float64 array (under the worker's limit, over the judge's);
* anything else → a 2 GiB float32 tensor (over the worker's own limit).
"""

import numpy as np


def softmax(x):
    if len(x) == 2:
        return np.zeros(100_000_000 // 8)
    import torch

    return torch.ones(2**29)  # 2 GiB
