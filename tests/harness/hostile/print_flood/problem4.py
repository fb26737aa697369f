"""Red team: softmax prints 100 MB on its first call, then returns wrong values."""

import sys

import numpy as np

_flooded = False


def softmax(x):
    global _flooded
    if not _flooded:
        _flooded = True
        line = "flood " * 16_666 + "flood\n"  # 100,002 bytes
        for _ in range(1000):
            sys.stdout.write(line)
        sys.stdout.write("REDTEAM flood: done\n")
        sys.stdout.flush()
    return np.zeros(len(x))
