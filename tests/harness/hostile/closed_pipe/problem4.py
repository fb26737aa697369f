"""Red team: softmax closes the worker's reply pipe (whatever its fd) and sleeps, so that no reply can ever
come (once an uncaught TimeoutExpired in the judge: every check "not graded", 10 s each)."""

import os
import time

import redteam


def softmax(x):
    os.close(redteam.reply_fd())
    time.sleep(60)
    return x
