"""The homework's given problem-2 pieces, as the PyTorch tutorial "Training a Classifier" writes them.

Each variation 3-(n) is trained with the student's one changed piece and these for the rest, in
the grader's own loop, so that a bug in a student's problem2.py costs points in problem 2 only.
This is the public tutorial code the assignment hands out, not a solution to any 3-(n).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
import torchvision.transforms as transforms

from autograder.common.contract import CLASSES

classes = CLASSES
transform = transforms.Compose(
    [transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]
)


class Net(nn.Module):
    """The tutorial's LeNet for 3×32×32 images."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


criterion = nn.CrossEntropyLoss()


def make_optimizer(net: nn.Module) -> optim.Optimizer:
    """SGD with momentum, as in the tutorial."""
    return optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
