"""Problem 3-(1): INPUT-CONV(32 3x3)-CONV(32 3x3)-RELU-POOL-CONV(32 3x3)-CONV(32 3x3)-RELU-POOL-OUTPUT."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    """Four distinct 3x3 convolutions of 32 channels and a linear output layer; 36,650 weights.

    Feature maps: 3x32x32 -> 32x30x30 -> 32x28x28 -> 32x14x14 -> 32x12x12 -> 32x10x10 -> 32x5x5 -> 10.
    """

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3)
        self.conv2 = nn.Conv2d(32, 32, 3)
        self.conv3 = nn.Conv2d(32, 32, 3)
        self.conv4 = nn.Conv2d(32, 32, 3)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc = nn.Linear(32 * 5 * 5, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv2(self.conv1(x))))
        x = self.pool(F.relu(self.conv4(self.conv3(x))))
        x = torch.flatten(x, 1)
        return self.fc(x)
