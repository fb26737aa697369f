"""Problem 3-(1): student 20163140's code from the report, moved into the submission contract."""

import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        # 커널 정의
        # 3채널을 입력받을 수 있도록 적의
        self.conv1 = nn.Conv2d(3, 32, 3)      # 3 * 32 * 3 * 3
        # 풀링층 정의
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(32, 32, 3)     # 32 * 32 * 3 * 3
        # fully connections 정의
        self.fc1 = nn.Linear(32* 5 * 5, 10)

    # 순전파 함수에 신경망의 구조를 정의
    def forward(self, x):
        # 컨볼루션 연산을 통해 특징 추출 후 풀링 연산하여 subsampling
        # 구조 conv1 - conv2 - relu - pool - conv2 - conv2 - relu - pool - fc - output
        x = self.pool(F.relu(self.conv2(self.conv1(x))))
        x = self.pool(F.relu(self.conv2(self.conv2(x))))
        x = x.view(-1, 32*5*5)

        x = self.fc1(x)
        return x
