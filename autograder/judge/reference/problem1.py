"""Problem 1: the LeNet of the "Neural Networks" tutorial for 1x32x32 input, and a manual SGD step."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    """conv-relu-pool x2, then three fully connected layers; 61,706 weights."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def sgd_step(net, learning_rate):
    """Update every parameter with a gradient in place: w <- w - learning_rate * dL/dw."""
    with torch.no_grad():
        for p in net.parameters():
            if p.grad is not None:
                p -= learning_rate * p.grad
