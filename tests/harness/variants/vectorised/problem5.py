"""Correct loss functions with the math module and loops (natural log)."""

import math


def MSE(y, t):
    return 0.5 * sum((float(a) - float(b)) ** 2 for a, b in zip(y, t))


def cross_entropy_error(y, t):
    return -sum(float(b) * math.log(float(a) + 1e-7) for a, b in zip(y, t))


def loglikelihood(y, t):
    return -math.log(float(y[list(t).index(1)]))
