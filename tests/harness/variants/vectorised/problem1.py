"""A correct problem 1 declared in another order (fully connected layers first), with torch.flatten."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.ModuleList([nn.Linear(16 * 5 * 5, 120), nn.Linear(120, 84)])
        self.out = nn.Linear(84, 10)
        self.c1 = nn.Conv2d(1, 6, (5, 5))
        self.c2 = nn.Conv2d(6, 16, (5, 5))
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        x = self.pool(torch.relu(self.c1(x)))
        x = self.pool(torch.relu(self.c2(x)))
        x = torch.flatten(x, start_dim=1)
        for layer in self.hidden:
            x = F.relu(layer(x))
        return self.out(x)


def sgd_step(net, learning_rate):
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(p - learning_rate * p.grad)
