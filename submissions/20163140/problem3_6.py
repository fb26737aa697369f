"""Problem 3-(6): student 20163140's code from the report, moved into the submission contract."""

import torch.optim as optim

def make_optimizer(net):
    optimizer = optim.SGD(net.parameters(), lr = 0.001, momentum = 0.9, weight_decay = 1e-6)
    return optimizer
