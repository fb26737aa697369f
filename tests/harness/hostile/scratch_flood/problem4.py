"""Red team: softmax fills its scratch folder and /tmp, 200 MiB a file, three files each (once on
the host's disk, shared by every judge), then returns wrong values."""

import numpy as np
import redteam


def _fill(folder, n):
    chunk = b"\0" * 2**20
    written = 0
    for i in range(n):
        with open(f"{folder}/flood{i}.bin", "wb") as f:
            for _ in range(200):
                f.write(chunk)
                written += 1
    return f"{written} MiB written"


def softmax(x):
    redteam.guard()
    redteam.attempt("fill /scratch", lambda: _fill("/scratch", 3))
    redteam.attempt("fill /tmp", lambda: _fill("/tmp", 3))
    redteam.attempt("fill /dev/shm", lambda: _fill("/dev/shm", 3))
    return np.zeros(len(x))
