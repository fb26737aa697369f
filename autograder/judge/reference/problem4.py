"""Problem 4: a numerically stable softmax in NumPy."""

import numpy as np


def softmax(x):
    """Softmax along the last axis (row-wise for 2-D input); the maximum is subtracted before exp."""
    x = np.asarray(x, dtype=float)
    e_x = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e_x / np.sum(e_x, axis=-1, keepdims=True)
