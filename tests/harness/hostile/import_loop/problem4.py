"""Red team: an endless loop at import time; the grader's import timeout must stop it.

The loop runs in a definition softmax needs (``SCALE``): the module has no top-level code that the
grader could leave out (as it does for a script that trains when imported), so it can only be
stopped — once, for every worker of the submission.
"""

import numpy as np


def _forever():
    while True:
        pass


SCALE = _forever()


def softmax(x):
    return np.zeros(len(x)) * SCALE
