"""The reference and submission 20163140 follow the contract: names defined, imports cheap and inert."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.common.contract import PROBLEMS

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = [ROOT / "autograder" / "judge" / "reference", ROOT / "submissions" / "20163140"]

# Runs in a fresh interpreter with the folder first on sys.path: imports each module after torch
# and torchvision, records its import time, the names it defines, and whether importing opened a
# network connection, wrote a file or ran a backward pass / optimiser step.
PROBE = r"""
import json, os, sys, time
folder, modules = sys.argv[1], sys.argv[2:]
sys.path.insert(0, folder)
import torch, torchvision  # the heavy libraries load before the timing starts
events = []
def audit(event, args):
    if event == "socket.connect":
        events.append("network: " + repr(args[1]))
    elif event == "open" and len(args) > 1 and isinstance(args[1], str) and any(c in args[1] for c in "wax+"):
        events.append("write: " + str(args[0]))
sys.addaudithook(audit)
calls = []
backward, step = torch.Tensor.backward, torch.optim.Optimizer.step
torch.Tensor.backward = lambda *a, **k: calls.append("backward") or backward(*a, **k)
out = {}
for name in modules:
    start = time.perf_counter()
    mod = __import__(name)
    out[name] = {"seconds": time.perf_counter() - start, "names": sorted(vars(mod))}
print(json.dumps({"modules": out, "events": events, "backward_calls": len(calls)}))
"""


@pytest.fixture(scope="module", params=FOLDERS, ids=lambda p: p.name)
def imported(request, tmp_path_factory):
    folder = request.param
    cwd = tmp_path_factory.mktemp("cwd")
    proc = subprocess.run([sys.executable, "-c", PROBE, str(folder), *[p.module for p in PROBLEMS]],
                          cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), cwd


@pytest.mark.parametrize("spec", PROBLEMS, ids=lambda p: p.module)
def test_module_defines_the_contract_names(imported, spec):
    report, _ = imported
    names = set(report["modules"][spec.module]["names"])
    missing = [n for n in spec.names if n not in names]
    assert not missing, f"{spec.module}.py lacks {missing}"


@pytest.mark.parametrize("spec", PROBLEMS, ids=lambda p: p.module)
def test_module_imports_quickly(imported, spec):
    """Under 5 s once torch is loaded: importing must not train (the contract's rule)."""
    report, _ = imported
    assert report["modules"][spec.module]["seconds"] < 5.0


def test_importing_trains_nothing_and_downloads_nothing(imported):
    report, cwd = imported
    assert report["backward_calls"] == 0
    assert [e for e in report["events"] if e.startswith("network")] == []
    assert [e for e in report["events"] if e.startswith("write")] == []
    assert list(cwd.iterdir()) == []


def test_report_md_is_the_students_korean_text():
    text = (ROOT / "submissions" / "20163140" / "report.md").read_text(encoding="utf-8")
    assert "일반화 성능" in text and "## 3-(1)" in text
