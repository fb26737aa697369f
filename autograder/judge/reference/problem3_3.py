"""Problem 3-(3): data augmentation (random horizontal flips) for problem 2's training set."""

import torchvision.transforms as transforms

train_transform = transforms.Compose(
    [
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    ]
)
"""Per-image training transform: flip with probability 0.5, then problem 2's normalisation."""
