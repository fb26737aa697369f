"""The worker's import scoping (`autograder.worker.student_imports`) and stand-ins
(`autograder.worker.stand_ins`), driven in a fresh interpreter as the worker drives them: the
student's code gets the student's stdlib-named helpers, everything else — numpy, torch, the grader
— the real modules, before and after; stand-ins only where a package is missing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.common.contract import GRADING_ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]

DRIVER = r"""
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
folder = Path(sys.argv[2])
import numpy, torch  # loaded first, as the worker preloads them (they hold the real modules)
from autograder.worker.stand_ins import StandInFinder
from autograder.worker.student_imports import StudentImports
sys.path.append(str(folder))
stand_ins = StandInFinder()
sys.meta_path.insert(0, stand_ins)
StudentImports(folder).install()
import importlib
student = importlib.import_module("problem4")
import random, copy, code, tempfile, json as real_json
out = {
    "student": student.report(),
    "real after": [m.__file__.startswith(str(folder)) for m in (random, copy, tempfile)],
    "numpy random": float(numpy.random.default_rng(0).random()) > -1,
    "torch copy": torch.nn.Linear(2, 2).__class__.__name__,
    "tempfile works": bool(tempfile.mkdtemp()),
    "random works": random.random() < 1,
    "copy works": copy.deepcopy([1, [2]]) == [1, [2]],
    "second import": importlib.import_module("problem5").same(),
    "stand-ins": stand_ins.used,
}
print(json.dumps(out))
"""

HELPERS = {
    "random.py": "def seed_everything():\n    return 'student random'\n",
    "copy.py": "def clone(values):\n    return 'student copy'\n",
    "code.py": "NAME = 'student code'\n",
    "tempfile.py": "def scratch():\n    return 'student tempfile'\n",
    "test.py": "import random\nNAME = random.seed_everything()\n",
    "json.py": "def dumps(x):\n    return 'student json'\n",
    "os.py": "raise ImportError('a student os.py must never load: os is loaded before any script')\n",
    "sys.py": "raise ImportError('a student sys.py must never load: sys is built in')\n",
}

PROBLEM4 = """\
import os, sys
import random
import copy
from code import NAME
import tempfile
import test
import json
from torch.utils.tensorboard import SummaryWriter
import wandb
from google.colab import drive
from IPython.display import display


def report():
    drive.mount("/content/drive")
    with SummaryWriter("runs") as writer:
        writer.add_scalar("x", 1, 0)
    display(wandb.init(project="p"))
    return [random.seed_everything(), copy.clone([1]), NAME, tempfile.scratch(), test.NAME, json.dumps(1),
            os.sep, sys.version_info[0]]
"""

PROBLEM5 = """\
import random
import problem4


def same():
    return random is problem4.random
"""


def _drive(folder: Path) -> dict:
    proc = subprocess.run([sys.executable, "-I", "-c", DRIVER, str(ROOT), str(folder)], cwd="/",
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_students_stdlib_named_helpers_are_theirs_and_only_theirs(tmp_path):
    folder = tmp_path / "submission"
    folder.mkdir()
    for name, text in {**HELPERS, "problem4.py": PROBLEM4, "problem5.py": PROBLEM5}.items():
        (folder / name).write_text(text)
    out = _drive(folder)
    assert out["student"] == ["student random", "student copy", "student code", "student tempfile",
                              "student random", "student json", "/", 3]
    assert out["real after"] == [False, False, False]
    assert out["numpy random"] and out["tempfile works"] and out["random works"] and out["copy works"]
    assert out["torch copy"] == "Linear" and out["second import"] is True
    assert out["stand-ins"] == ["torch.utils.tensorboard", "wandb", "google.colab", "IPython"]


def test_a_real_package_is_never_replaced_by_a_stand_in(tmp_path):
    """Only a missing package gets a stand-in: a package that is installed (here, a fake wandb on
    the path) is imported as itself."""
    site = tmp_path / "site"
    (site / "wandb").mkdir(parents=True)
    (site / "wandb" / "__init__.py").write_text("REAL = True\n")
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "problem4.py").write_text("import wandb\n\ndef report():\n    return [wandb.REAL]\n")
    (folder / "problem5.py").write_text("def same():\n    return True\n")
    driver = DRIVER.replace("sys.path.insert(0, sys.argv[1])", f"sys.path.insert(0, sys.argv[1]); sys.path.insert(1, {str(site)!r})")
    proc = subprocess.run([sys.executable, "-I", "-c", driver, str(ROOT), str(folder)], cwd="/",
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["student"] == [True] and out["stand-ins"] == []


@pytest.mark.parametrize("name", GRADING_ENVIRONMENT)
def test_the_grading_environment_is_installed(name):
    """What a submission may import is installed with the grader (pyproject's dependencies)."""
    import importlib.util

    assert importlib.util.find_spec(name) is not None, name
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    package = {"PIL": "pillow"}.get(name, name)
    assert f'"{package}>=' in text, package
