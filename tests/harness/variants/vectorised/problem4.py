"""A correct softmax written with plain Python loops."""

import math


def softmax(x):
    values = [float(v) for v in x]
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    return [e / total for e in exps]
