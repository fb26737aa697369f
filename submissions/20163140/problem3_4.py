"""Problem 3-(4): student 20163140's code from the report, moved into the submission contract."""

import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        # 커널 정의
        # 3채널을 입력받을 수 있도록 정의
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv1_bn = nn.BatchNorm2d(6)
        # 풀링층 정의
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.conv2_bn = nn.BatchNorm2d(16)
        # fully connections 정의
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    # 순전파 함수에 신경망의 구조를 정의
    def forward(self, x):
        # 컨볼루션 연산을 통해 특징 추출 후 풀링 연산하여 subsampling
        # 구조 conv1 - relu - pool - conv2 - relu - pool - fc1 - relu - fc2 - relu - fc3
        x = self.pool(F.relu(self.conv1_bn(self.conv1(x))))
        x = self.pool(F.relu(self.conv2_bn(self.conv2(x))))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x
