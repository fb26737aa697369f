"""Problem 3-(2): problem 2's network trained with the Adam optimizer."""

import torch.optim as optim


def make_optimizer(net):
    """Adam with lr 0.001 and betas (0.9, 0.999)."""
    return optim.Adam(net.parameters(), lr=0.001, betas=(0.9, 0.999))
