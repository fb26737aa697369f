"""The adaptive (sequential) budget against the fixed ones, in one run, side by side; writes the
"adaptive" section of bench/RESULTS.md.

    python bench/adaptive.py [--verdicts PROBLEMS] [--variants NAMES] [--skip-verdicts] [--skip-timings]
                             [--data PATH] [--out FILE]

1. Timing, one part after another (never two at once), the load average recorded around each:
   the homework's recipe for problem 2 (`homework_problem2.py`, 2 epochs); problem 2 alone at the
   default budget, one cold start (a fresh output folder: no training cache); per submission in a
   class of 8 copies at ``--jobs 2``; a whole grading of 20163140 at the default budget and at
   ``standard``.
2. Verdicts: the reference and the harness's variants (tests/harness/test_training_variants.py's
   patches) graded at the default budget and at ``full`` on ``--verdicts`` problems; check by check,
   outcome and points must be the same. Each training's checkpoint is listed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench import STUDENT, autograde, homework_baseline, load, machine, make_class, same_grades  # noqa: E402
from gpu.classroom import PATCHED, patched  # noqa: E402
from sections import replace_section  # noqa: E402

from autograder.common import config as cfg  # noqa: E402
from autograder.common import results_json  # noqa: E402

REFERENCE = ROOT / "autograder" / "judge" / "reference"
VARIANTS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "reference": {}, **{name: PATCHED[name] for name in ("bad_train_and_loss", "bad_pieces")}}
"""The harness's training variants (the same patches as its tests) and the reference."""
CLASS = 8


def make_variant(name: str, work: Path) -> Path:
    folder = work / "variants" / name
    problem = patched(REFERENCE, folder, VARIANTS[name])
    if problem:
        raise SystemExit(f"variant {name}: {problem}")
    return folder


def timed(args: list[str]) -> tuple[float, list[float]]:
    before = load()
    _, wall, _ = autograde(args)
    return wall, [before, load()]


def timings(common: list[str], config: object, work: Path) -> dict[str, object]:
    got: dict[str, object] = {}
    print("the homework's recipe …", file=sys.stderr, flush=True)
    got["recipe"] = homework_baseline(config, work)
    print("problem 2 alone, default budget, cold …", file=sys.stderr, flush=True)
    out = work / "p2-alone"
    got["p2_alone"] = timed([f"submissions/{STUDENT}", "--problems", "2", "--out", str(out), *common])
    got["p2_alone_checkpoint"] = [r.checkpoint for r in results_json.read(out / STUDENT / "results.json").training]
    print(f"problem 2, a class of {CLASS} at --jobs 2 …", file=sys.stderr, flush=True)
    folder = make_class(work / "class", CLASS)
    out = work / "class-out"
    got["p2_class"] = timed([str(folder), "--problems", "2", "--jobs", "2", "--out", str(out), *common])
    got["p2_class_score"] = same_grades(out, CLASS)
    for budget in ("adaptive", "standard"):
        print(f"a whole grading of {STUDENT} at {budget} …", file=sys.stderr, flush=True)
        out = work / f"whole-{budget}"
        got[f"whole_{budget}"] = timed([f"submissions/{STUDENT}", "--budget", budget, "--out", str(out), *common])
        r = results_json.read(out / STUDENT / "results.json")
        got[f"whole_{budget}_score"] = f"{r.score:g} / {r.max_score:g}"
        got[f"whole_{budget}_checkpoints"] = {t.problem: t.checkpoint or budget for t in r.training}
    return got


def verdicts(problems: str, names: list[str], common: list[str], work: Path) -> list[dict[str, object]]:
    rows = []
    for name in names:
        folder = make_variant(name, work)
        graded = {}
        for budget in ("adaptive", "full"):
            print(f"verdicts: {name} at {budget} ({problems}) …", file=sys.stderr, flush=True)
            out = work / f"verdicts-{name}-{budget}"
            wall, loads = timed([str(folder), "--problems", problems, "--budget", budget, "--out", str(out), *common])
            r = results_json.read(out / folder.name / "results.json")
            graded[budget] = {"checks": {t.id: (t.outcome.value, t.points) for t in r.tests},
                              "score": r.score, "seconds": wall, "loadavg": loads,
                              "training": {t.problem: [t.checkpoint or budget, t.accuracy] for t in r.training}}
        rows.append({"variant": name, **graded,
                     "same": graded["adaptive"]["checks"] == graded["full"]["checks"],
                     "differ": sorted(k for k in graded["full"]["checks"]
                                      if graded["adaptive"]["checks"].get(k) != graded["full"]["checks"][k])})
    return rows


def _loads(pair: list[float]) -> str:
    return f"{pair[0]:.1f} → {pair[-1]:.1f}"


def render(f: dict[str, object], command: str) -> str:
    lines = ["## The adaptive budget against the fixed ones", "", f"Machine: {f['machine']}", "",
             f"Command: `{command}`", "", f"Date: {f['date']}", "",
             "Each figure is one run, one part after another; the 1-minute load average before → after "
             "each is given (2.0 fills both cores; other work shares the machine).", ""]
    t = f.get("timings")
    if t:
        recipe = t["recipe"]["wall"]
        p2, cls = t["p2_alone"][0], t["p2_class"][0] / CLASS
        wa, ws = t["whole_adaptive"][0], t["whole_standard"][0]
        lines += ["| what | seconds | against | load average |", "|---|---:|---|---|",
                  f"| the homework's recipe, problem 2 (2 epochs) | {recipe:.1f} | – | {_loads(t['recipe']['loadavg'])} |",
                  f"| problem 2 alone, default budget, cold (ended at {', '.join(t['p2_alone_checkpoint'])}) | "
                  f"{p2:.1f} | **{recipe / p2:.1f}×** faster than the recipe (goal ≥ 15×) | {_loads(t['p2_alone'][1])} |",
                  f"| problem 2 per submission, a class of {CLASS} at `--jobs 2` ({t['p2_class'][0]:.1f} s in all; "
                  f"{t['p2_class_score']} each) | {cls:.1f} | **{recipe / cls:.1f}×** (goal ≥ 25×) | {_loads(t['p2_class'][1])} |",
                  f"| a whole grading of {STUDENT}, default budget ({t['whole_adaptive_score']}) | {wa:.1f} | "
                  f"**{wa / ws:.2f}** of standard's (goal ≤ 0.5) | {_loads(t['whole_adaptive'][1])} |",
                  f"| a whole grading of {STUDENT}, `standard` ({t['whole_standard_score']}) | {ws:.1f} | – | "
                  f"{_loads(t['whole_standard'][1])} |", "",
                  "Where each training of the default-budget grading ended: " + ", ".join(
                      f"{p} {c}" for p, c in t["whole_adaptive_checkpoints"].items()) + ".", ""]
    v = f.get("verdicts")
    if v:
        lines += [f"Verdicts, problems {f['verdict_problems']}: the default budget against `full`, check by check", "",
                  "| variant | same verdicts | adaptive: score, seconds, where each run ended | full: score, seconds |",
                  "|---|---|---|---|"]
        for row in v:
            a, full = row["adaptive"], row["full"]
            ended = ", ".join(f"{p} {c} ({100 * acc:.1f} %)" if acc is not None else f"{p} {c}"
                              for p, (c, acc) in a["training"].items())
            lines.append(f"| {row['variant']} | {'yes' if row['same'] else 'NO: ' + ', '.join(row['differ'])} | "
                         f"{a['score']:g}, {a['seconds']:.0f} s; {ended} | {full['score']:g}, {full['seconds']:.0f} s |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--verdicts", default="2,3-2,3-5", help="the problems whose verdicts are compared with full's")
    p.add_argument("--variants", default=",".join(VARIANTS), help="which of the variants' verdicts are compared")
    p.add_argument("--skip-verdicts", action="store_true")
    p.add_argument("--skip-timings", action="store_true")
    p.add_argument("--data", default=None, help=cfg.HELP["data"])
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    p.add_argument("--figures", type=Path, default=None, help="also keep the raw figures here, as JSON")
    args = p.parse_args()
    config = cfg.resolve({"data": args.data, "seed": 1})
    common = ["--seed", "1", "--force"]
    if config.data is not None:
        common += ["--data", str(config.data)]
    work = Path(tempfile.mkdtemp(prefix="autograde-adaptive-"))
    figures: dict[str, object] = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M"),
                                  "verdict_problems": args.verdicts}
    try:
        if not args.skip_timings:
            figures["timings"] = timings(common, config, work)
        if not args.skip_verdicts:
            figures["verdicts"] = verdicts(args.verdicts, args.variants.split(","), common, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    shown = [a for a, on in ((f"--verdicts {args.verdicts}", not args.skip_verdicts),
                             (f"--variants {args.variants}", args.variants != ",".join(VARIANTS)),
                             ("--skip-verdicts", args.skip_verdicts), ("--skip-timings", args.skip_timings)) if on]
    command = " ".join(["python bench/adaptive.py", *shown])
    if args.figures is not None:
        args.figures.write_text(json.dumps({"figures": figures, "command": command}, indent=1, default=str))
    text = render(figures, command)
    replace_section(args.out, "adaptive", text, before="bench")
    print(text)


if __name__ == "__main__":
    main()
