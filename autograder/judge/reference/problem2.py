"""Problem 2: the CIFAR-10 classifier of the "Training a Classifier" tutorial, as reusable pieces."""

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
import torchvision.transforms as transforms

transform = transforms.Compose(
    [transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]
)
"""Image to tensor, pixels from [0, 1] into [-1, 1]."""

classes = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class Net(nn.Module):
    """The tutorial's LeNet for 3x32x32 input; 62,006 weights."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


criterion = nn.CrossEntropyLoss()


def make_optimizer(net):
    """SGD with momentum, as in the tutorial."""
    return optim.SGD(net.parameters(), lr=0.001, momentum=0.9)


def train(net, trainloader, criterion, optimizer, epochs):
    """Train for `epochs` passes over `trainloader`, printing the running loss every 2000 mini-batches."""
    net.train()
    for epoch in range(epochs):
        running_loss = 0.0
        for i, (inputs, labels) in enumerate(trainloader):
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()

            running_loss += loss.item()
            if i % 2000 == 1999:
                print(f"[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 2000:.3f}")
                running_loss = 0.0


def evaluate(net, testloader):
    """Return (accuracy, per-class accuracies in `classes` order), as fractions in [0, 1]."""
    net.eval()
    correct = 0
    total = 0
    class_correct = [0] * len(classes)
    class_total = [0] * len(classes)
    with torch.no_grad():
        for images, labels in testloader:
            outputs = net(images)
            _, predicted = torch.max(outputs, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
            for label, prediction in zip(labels.tolist(), predicted.tolist()):
                class_total[label] += 1
                class_correct[label] += int(label == prediction)
    accuracy = correct / total if total else 0.0
    per_class = [c / t if t else 0.0 for c, t in zip(class_correct, class_total)]
    return accuracy, per_class
