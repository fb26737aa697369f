"""Notebooks in the homework's style, written by the tests (never committed, never with outputs).

`hw3_20163140` is submission 20163140 as the student would hand it in from Colab: one notebook
with the report's headings ("1", "2", "3-(1) INPUT - CONV…", …), each problem's definitions
(the same code as ``submissions/20163140/*.py``) followed by the report's top-level script —
printing, plotting, loading CIFAR-10 with ``download=True`` and training for two epochs — plus
``!pip`` and ``%matplotlib`` lines. Grading it must give what the ``.py`` version gets.

    python tests/harness/notebook_samples.py DIR     # writes DIR/hw3.ipynb
"""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[2]
SUBMISSION = ROOT / "submissions" / "20163140"


def split_main(path: Path) -> tuple[str, str]:
    """A module's text without its docstring and ``if __name__ == "__main__":`` block, and that
    block's body dedented: a notebook's definitions cell and its script cell."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    lines = text.splitlines()
    start, script = 0, ""
    if tree.body and isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant):
        start = tree.body[0].end_lineno or 0
    end = len(lines)
    for node in tree.body:
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            end = node.lineno - 1
            script = textwrap.dedent("\n".join(lines[node.body[0].lineno - 1:node.end_lineno]))
    defs = "\n".join(line for line in lines[start:end] if not line.startswith("# -*- coding"))
    return defs.strip() + "\n", script.strip() + "\n" if script else ""


DATA = """\
import torch
import torchvision
import torchvision.transforms as transforms

# torchvision을 이용해 훈련집합 적재
trainset = torchvision.datasets.CIFAR10(root = './data', train = True, download = True, transform = transform)
trainloader = torch.utils.data.DataLoader(trainset, batch_size = 4, shuffle = True, num_workers = 2)

# torchvision을 이용해 테스트집합 적재
testset = torchvision.datasets.CIFAR10(root='./data', train = False, download = True, transform = transform)
testloader = torch.utils.data.DataLoader(testset, batch_size = 4, shuffle = False, num_workers = 2)
# (1) 화면 출력 확인
"""

SHOW = """\
import matplotlib.pyplot as plt
import numpy as np

# 이미지를 보여주기 위한 함수 정의
def imshow(img):
    img = img / 2.0 + 0.5 #unnormailze
    npimg = img.numpy()
    plt.imshow(np.transpose(npimg, (1, 2, 0)))
    plt.show() # 커맨드라인에서 실행시 추가해주어야 함

# 훈련집합을 무작위로 가져온다
dataiter = iter(trainloader)
images, labels = next(dataiter)

# 가져온 훈련집합을 보여준다
imshow(torchvision.utils.make_grid(images))
print(' '.join('%5s' % classes[labels[j]] for j in range(4)))
# (2) 화면 출력 확인
"""

TRAIN = """\
net = Net()
optimizer = make_optimizer(net)
train(net, trainloader, criterion, optimizer, 2)
# (3) 화면 출력 확인 및 학습이 되고 있는지 서술
"""

EVALUATE = """\
accuracy, per_class = evaluate(net, testloader)
print('Accuracy of the network on the 10000 test images: %d %%' % (100 * accuracy))
for i in range(10):
    print('Accuracy of %5s : %2d %%' % (classes[i], 100 * per_class[i]))
"""

VARIATIONS = {
    "problem3_1": "3-(1) INPUT - CONV(32 3*3) - CONV(32 3*3) - RELU - POOL - CONV(32 3*3) - CONV(32 3*3) - RELU - POOL - OUTPUT",
    "problem3_2": "3-(2) 2번 문제의 신경망에 Adam 최적화",
    "problem3_3": "3-(3) 데이터 확대 방법들 중 하나를 적용한 후, 2번 문제의 신경망 학습",
    "problem3_4": "3-(4) 2번 문제의 신경망에 CONV층마다 배치정규화를 적용",
    "problem3_5": "3-(5) 2번 문제의 신경망에 로그우도 손실함수를 적용",
    "problem3_6": "3-(6) 2번 문제의 신경망에 L2 놔 적용",
}

AUGMENT = """\
trainset += torchvision.datasets.CIFAR10(root = './data', train = True, download = True,
                                         transform = train_transform)
trainloader = torch.utils.data.DataLoader(trainset, batch_size = 4, shuffle = True, num_workers = 2)
"""


def hw3_20163140() -> nbformat.NotebookNode:
    """Submission 20163140 as one Colab notebook (see the module docstring)."""
    cells = [
        new_markdown_cell("# 인공지능 hw3\n\n국민대학교 컴퓨터공학부\n\n20163140 이수진"),
        new_code_cell("!pip install -q torch torchvision\n%matplotlib inline"),
    ]
    for number, module in (("1", "problem1"), ("2", "problem2")):
        defs, script = split_main(SUBMISSION / f"{module}.py")
        cells += [new_markdown_cell(f"# {number}\n\n<코드해석>"), new_code_cell(defs)]
        if script:
            cells.append(new_code_cell(script))
        if module == "problem2":
            cells += [new_code_cell(DATA), new_code_cell(SHOW), new_code_cell(TRAIN), new_code_cell(EVALUATE)]
    cells.append(new_markdown_cell("# 3"))
    for module, heading in VARIATIONS.items():
        defs, _ = split_main(SUBMISSION / f"{module}.py")
        cells += [new_markdown_cell(f"## {heading}\n\n<코드>"), new_code_cell(defs)]
        if module == "problem3_3":
            cells.append(new_code_cell(AUGMENT))
        cells += [new_code_cell(TRAIN), new_code_cell(EVALUATE)]
    for number, module in (("4", "problem4"), ("5", "problem5")):
        defs, script = split_main(SUBMISSION / f"{module}.py")
        cells += [new_markdown_cell(f"# {number}"), new_code_cell(defs)]
        if script:
            cells.append(new_code_cell(script))
    nb = new_notebook(cells=cells)
    nb.metadata["colab"] = {"name": "hw3.ipynb", "provenance": []}
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "name": "python3"}
    return nb


def scripts_20163140(folder: Path) -> Path:
    """Submission 20163140's modules with the report's own top-level lines put back, as the student
    ran them: problem 2 imports matplotlib and defines ``imshow``, downloads CIFAR-10 and makes its
    loaders, looks at four images and trains for two epochs when imported; problems 1, 4 and 5
    print when imported (their ``if __name__ == "__main__":`` blocks at top level). The variations
    are the submission's own."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(SUBMISSION.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        if path.stem in ("problem1", "problem2", "problem4", "problem5"):
            defs, script = split_main(path)
            text = defs + ("\n" + script if script else "")
            if path.stem == "problem2":
                text += "\n" + DATA + "\n" + SHOW + "\n" + TRAIN + "\n" + EVALUATE
        (folder / path.name).write_text(text, encoding="utf-8")
    return folder


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(nb)
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/harness/notebook_samples.py DIR  (writes DIR/hw3.ipynb)")
    print(write(hw3_20163140(), Path(sys.argv[1]) / "hw3.ipynb"))
