"""A correct softmax through the log-sum-exp trick."""

import numpy as np


def softmax(x):
    x = np.array(x, dtype=np.float64)
    m = x.max()
    return np.exp(x - (m + np.log(np.exp(x - m).sum())))
