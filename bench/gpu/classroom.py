"""The class the device check grades, and the submissions that hog memory.

A class of N: copies of 20163140 (a real student's homework), the reference solutions, the
harness's correct variants in other styles (``tests/harness/variants/*`` laid over the reference,
so that they train too) and wrong variants patched from the reference as the harness's ``variant``
fixture does, with the patches of the harness's own tests. The mix makes the judges do what a real
class makes them do: failed checks with feedback, a training that stops early, full marks.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

STUDENT = "20163140"

PATCHED: dict[str, dict[str, list[tuple[str, str]]]] = {
    # tests/harness/test_variants_basic.py
    "bad_a": {"problem1.py": [("nn.Linear(16 * 5 * 5, 120)", "nn.Linear(16 * 5 * 5, 100)"),
                              ("nn.Linear(120, 84)", "nn.Linear(100, 84)")],
              "problem4.py": [("np.exp(x - np.max(x, axis=-1, keepdims=True))", "np.exp(x)")],
              "problem5.py": [("0.5 * np.sum((y - t) ** 2)", "np.sum((y - t) ** 2)")]},
    "bad_b": {"problem1.py": [("p -= learning_rate * p.grad", "p += learning_rate * p.grad")],
              "problem5.py": [("return -np.log(y[np.argmax(t)])", "return np.log(y[np.argmax(t)])")]},
    "bad_c": {"problem1.py": [("return self.fc3(x)", "return self.fc3(x).squeeze()")]},
    "bad_d": {"problem1.py": [("x = F.relu(self.fc2(x))", "x = self.fc2(x)")]},
    # tests/harness/test_training_variants.py
    "bad_train_and_loss": {
        "problem2.py": [("            optimizer.zero_grad()\n", "")],
        "problem3_5.py": [("self.nll(F.log_softmax(outputs, dim=1), labels)", "self.nll(outputs, labels)")]},
    "bad_pieces": {
        "problem2.py": [("x = F.relu(self.fc2(x))", "x = self.fc2(x)"),
                        ("accuracy = correct / total if total else 0.0",
                         "accuracy = 100 * correct / total if total else 0.0"),
                        ("per_class = [c / t if t else 0.0", "per_class = [100 * c / t if t else 0.0")],
        "problem3_2.py": [("optim.Adam(net.parameters(), lr=0.001, betas=(0.9, 0.999))",
                           "optim.SGD(net.parameters(), lr=0.001, momentum=0.9)")],
        "problem3_6.py": [("weight_decay=5e-4", "weight_decay=0")]},
}
"""Wrong variants of the reference: name → module → (old, new) replacements."""


@dataclass(frozen=True)
class Member:
    """One folder of the class."""

    name: str
    kind: str
    """``20163140 copy``, ``reference``, ``style variant`` or ``patched variant``."""


def _copy(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))


def patched(reference: Path, dest: Path, patches: dict[str, list[tuple[str, str]]]) -> str:
    """A copy of ``reference`` with ``patches`` applied; "" or why a patch did not apply (the
    reference changed since the harness's test was written), in which case nothing is left."""
    _copy(reference, dest)
    for module, edits in patches.items():
        path = dest / module
        text = path.read_text()
        for old, new in edits:
            if old not in text:
                shutil.rmtree(dest)
                return f"{module}: {old!r} not found"
            text = text.replace(old, new)
        path.write_text(text)
    return ""


def build(root: Path, dest: Path, size: int) -> tuple[list[Member], list[str]]:
    """``size`` submission folders under ``dest``: the reference, the style and patched variants,
    and copies of 20163140 for the rest (at least half the class). Returns them and notes on
    variants left out."""
    reference = root / "autograder" / "judge" / "reference"
    student = root / "submissions" / STUDENT
    dest.mkdir(parents=True, exist_ok=True)
    members: list[Member] = []
    notes: list[str] = []
    others = max(0, size - max(1, size // 2))
    if others:
        _copy(reference, dest / "reference")
        members.append(Member("reference", "reference"))
    for style in sorted(p for p in (root / "tests" / "harness" / "variants").glob("*") if p.is_dir()):
        if len(members) >= others:
            break
        folder = dest / f"style_{style.name}"
        _copy(reference, folder)
        for module in style.glob("*.py"):
            shutil.copy2(module, folder / module.name)
        members.append(Member(folder.name, "style variant"))
    for name, patches in PATCHED.items():
        if len(members) >= others:
            break
        why = patched(reference, dest / name, patches)
        if why:
            notes.append(f"variant {name} left out: {why}")
            continue
        members.append(Member(name, "patched variant"))
    for i in range(size - len(members)):
        name = f"{STUDENT}_{i:02d}"
        _copy(student, dest / name)
        members.append(Member(name, f"{STUDENT} copy"))
    return members, notes


HOST_HOG = '''
# A hog: allocates and writes memory, 1 GiB at a time, far past any worker's share.
_hog = []
for _ in range(HOG_GIB):
    _hog.append(bytearray(b"\\x01") * 2**30)
'''
GPU_HOG = '''
# A hog: asks for half the GPU's memory, more than a worker's share of it when three share it.
import torch as _torch
_hog = _torch.empty(_torch.cuda.get_device_properties(0).total_memory // 2, dtype=_torch.uint8, device="cuda")
'''


def hogs(root: Path, dest: Path, *, host_gib: int, gpu: bool) -> list[Member]:
    """Submissions whose problem1.py hogs memory on import (the host's; the GPU's when ``gpu``),
    and a copy of 20163140 graded beside them, which must not suffer."""
    reference = root / "autograder" / "judge" / "reference"
    dest.mkdir(parents=True, exist_ok=True)
    members = []
    kinds = [("hog_host", HOST_HOG.replace("HOG_GIB", str(host_gib)))] + ([("hog_gpu", GPU_HOG)] if gpu else [])
    for name, code in kinds:
        _copy(reference, dest / name)
        path = dest / name / "problem1.py"
        path.write_text(path.read_text() + code)
        members.append(Member(name, "hog"))
    _copy(root / "submissions" / STUDENT, dest / f"{STUDENT}_neighbour")
    members.append(Member(f"{STUDENT}_neighbour", f"{STUDENT} copy"))
    return members
