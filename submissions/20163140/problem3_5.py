"""Problem 3-(5): student 20163140's code from the report, moved into the submission contract."""

import torch.nn as nn

criterion_nll = nn.NLLLoss()
m = nn.LogSoftmax()

def criterion(outputs, labels):
    loss = criterion_nll(m(outputs), labels)
    return loss
