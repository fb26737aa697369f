"""Problem 3-(6): problem 2's network with L2 regularisation (weight decay in SGD)."""

import torch.optim as optim


def make_optimizer(net):
    """SGD with momentum and an L2 penalty of 5e-4 on the weights."""
    return optim.SGD(net.parameters(), lr=0.001, momentum=0.9, weight_decay=5e-4)
