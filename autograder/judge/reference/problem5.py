"""Problem 5: loss functions in NumPy for a prediction y and a one-hot answer t."""

import numpy as np


def MSE(y, t):
    """Half the sum of squared errors."""
    y, t = np.asarray(y, dtype=float), np.asarray(t, dtype=float)
    return 0.5 * np.sum((y - t) ** 2)


def cross_entropy_error(y, t):
    """Cross-entropy -sum(t * ln(y + 1e-7)); the small delta keeps log away from 0."""
    y, t = np.asarray(y, dtype=float), np.asarray(t, dtype=float)
    delta = 1e-7
    return -np.sum(t * np.log(y + delta))


def loglikelihood(y, t):
    """Negative log-likelihood -ln(y at the answer), the answer being argmax(t)."""
    y, t = np.asarray(y, dtype=float), np.asarray(t)
    return -np.log(y[np.argmax(t)])
