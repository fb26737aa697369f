"""A correct softmax as the course textbook writes it: the maximum subtracted, then exp over the sum."""

import numpy as np


def softmax(a):
    a = np.array(a)
    c = np.max(a)
    exp_a = np.exp(a - c)
    sum_exp_a = np.sum(exp_a)
    y = exp_a / sum_exp_a
    return y
