"""Problem 3-(3): student 20163140's code from the report, moved into the submission contract."""

import torchvision.transforms as transforms

# The student's transform2: in the report they added a second, flipped copy of the CIFAR-10
# training set with it (trainset += CIFAR10(..., train = True, transform = transform2)).
train_transform = transforms.Compose([transforms.RandomHorizontalFlip( p = 0.5 ),
                                transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
