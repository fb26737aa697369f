"""Red team: an endless loop at import time; the grader's import timeout must stop it."""

import numpy as np

while True:
    pass


def softmax(x):
    return np.zeros(len(x))
