"""Red team: a 64 GiB allocation inside softmax; the address-space limit must stop it."""

import numpy as np


def softmax(x):
    bomb = np.ones((8, 2**30))  # 64 GiB of float64, every page written
    return bomb[0, : len(x)]
