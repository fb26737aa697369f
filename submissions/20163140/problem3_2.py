"""Problem 3-(2): student 20163140's code from the report, moved into the submission contract."""

import torch.optim as optim

def make_optimizer(net):
    optimizer = optim.Adam(net.parameters(), lr = 0.001, betas=(0.9, 0.999), eps =1e-3)
    return optimizer
