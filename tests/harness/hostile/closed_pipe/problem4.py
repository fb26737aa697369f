"""Red team: softmax closes the worker's reply pipe (fd 4) and sleeps, so that no reply can ever
come (once an uncaught TimeoutExpired in the judge: every check "not graded", 10 s each)."""

import os
import time


def softmax(x):
    os.close(4)
    time.sleep(60)
    return x
