"""The homework's problem 2 as its students ran it: the baseline the grader is measured against.

The PyTorch tutorial "Training a Classifier", as in the report of submission 20163140: a
torchvision ``CIFAR10`` dataset, ``DataLoader(batch_size=4, shuffle=True, num_workers=2)``, the
LeNet, cross-entropy, SGD(lr=0.001, momentum=0.9), 2 epochs, then the accuracy on the 10,000 test
images. Only the dataset root is a parameter (``download=False``: no internet here). Prints one
JSON line: seconds per phase and the accuracy.

    python bench/homework_problem2.py ROOT [EPOCHS] [--rebuilt]   # ROOT holds cifar-10-batches-py

``--rebuilt``: the batches were rebuilt by bench.py from another copy of CIFAR-10 (the JPEG one),
so their checksums differ from the original release's; torchvision's checksum test is skipped.
"""

from __future__ import annotations

import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
import torchvision
import torchvision.transforms as transforms


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


def main(root: str, epochs: int = 2) -> None:
    t0 = time.perf_counter()
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    trainset = torchvision.datasets.CIFAR10(root=root, train=True, download=False, transform=transform)
    trainloader = torch.utils.data.DataLoader(trainset, batch_size=4, shuffle=True, num_workers=2)
    testset = torchvision.datasets.CIFAR10(root=root, train=False, download=False, transform=transform)
    testloader = torch.utils.data.DataLoader(testset, batch_size=4, shuffle=False, num_workers=2)
    t1 = time.perf_counter()

    net = Net()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    for epoch in range(epochs):
        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            inputs, labels = data
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            if i % 2000 == 1999:
                print('[%d, %5d] loss: %.3f' % (epoch + 1, i + 1, running_loss / 2000), file=sys.stderr)
                running_loss = 0.0
    t2 = time.perf_counter()

    correct = 0
    total = 0
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            outputs = net(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    t3 = time.perf_counter()
    print(json.dumps({"load": t1 - t0, "train": t2 - t1, "test": t3 - t2, "total": t3 - t0,
                      "accuracy": correct / total, "epochs": epochs}))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--rebuilt"]
    if "--rebuilt" in sys.argv:
        import torchvision.datasets.cifar

        torchvision.datasets.cifar.check_integrity = lambda *args, **kwargs: True
    main(args[0], int(args[1]) if len(args) > 1 else 2)
