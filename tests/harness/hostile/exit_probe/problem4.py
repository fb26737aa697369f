"""Red team: softmax ends the worker process with os._exit."""

import os


def softmax(x):
    os._exit(3)
