"""The similarity check at class scale, and the measurement behind its defaults.

    python bench/similarity.py [--class-size 300] [--planted 10] [--seed 1] [--out bench/RESULTS.md]
    python bench/similarity.py --measure

Timing (the default): a synthetic class is generated in a temporary folder and compared with
``autograde similarity``. Each synthetic student starts from one of the project's own solutions
for each problem (mostly the reference, the code every student is given; else 20163140, the
sequential, vectorised or textbook variant), renamed and reordered, with statements of their own
inside its functions (each statement with probability 0.3) and one to three helper functions of
their own. ``--planted`` of the students are copies of others (renamed, reordered, comments gone;
half also edited with a statement of their own after every fourth): those pairs must be flagged.
Timed: the library call (``similarity.check``: read, parse, fingerprint, index, compare; median
of 3) and the command end to end (a fresh process, the HTML page included). The figures replace
the "Similarity" section of ``--out``; the rest of that file is kept.

``--measure`` prints the tables of docs/similarity.md: scores of independent solutions and of
disguised copies of the project's own solutions, for several k-gram sizes and windows.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "harness"))

import code_mutations as cm  # noqa: E402
from autograder.common.contract import PROBLEMS  # noqa: E402
from autograder.orchestrator import similarity  # noqa: E402

REFERENCE = ROOT / "autograder" / "judge" / "reference"
VARIANTS = ROOT / "tests" / "harness" / "variants"
SOLUTIONS = {"reference": REFERENCE, "20163140": ROOT / "submissions" / "20163140",
             **{v.name: v for v in sorted(VARIANTS.iterdir()) if v.is_dir()}}
"""The project's own correct solutions, written independently of each other."""

BEGIN, END = "<!-- similarity: begin -->", "<!-- similarity: end -->"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}"


# -- a synthetic class ------------------------------------------------------------------------------
def synthetic_student(folder: Path, rng: random.Random) -> dict[str, str]:
    """Writes the student's files; returns which solution each problem started from."""
    folder.mkdir(parents=True)
    started: dict[str, str] = {}
    for problem in PROBLEMS:
        name = f"{problem.module}.py"
        bases = [n for n, b in SOLUTIONS.items() if (b / name).is_file()]
        base = SOLUTIONS["reference" if rng.random() < 0.7 else rng.choice(bases)]
        started[problem.module] = next(n for n, b in SOLUTIONS.items() if b == base)
        seed = rng.randrange(10**9)
        source = cm.interleave(cm.disguise((base / name).read_text(), seed), seed, chance=0.3)
        folder.joinpath(name).write_text(cm.pad(source, seed, functions=rng.randint(1, 3),
                                                statements=rng.randint(4, 12)))
    return started


def planted_copy(original: Path, folder: Path, seed: int, edited: bool) -> None:
    folder.mkdir(parents=True)
    for path in sorted(original.glob("*.py")):
        source = cm.disguise(path.read_text(), seed)
        folder.joinpath(path.name).write_text(cm.interleave(source, seed, every=4) if edited else source)


def make_class(root: Path, size: int, planted: int,
               seed: int) -> tuple[set[tuple[str, str]], dict[str, dict[str, str]]]:
    """``size`` submissions under ``root``, ``planted`` of them copies; returns the copied pairs
    and, per generated student, the solution each problem started from."""
    rng = random.Random(seed)
    originals = [f"s{i:04d}" for i in range(size - planted)]
    started = {name: synthetic_student(root / name, rng) for name in originals}
    pairs: set[tuple[str, str]] = set()
    for j, source in enumerate(rng.sample(originals, planted)):
        copy = f"s{size - planted + j:04d}"
        planted_copy(root / source, root / copy, rng.randrange(10**9), edited=j % 2 == 1)
        pairs.add((source, copy))
    return pairs, started


def timing(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="autograde-similarity-bench-"))
    try:
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        planted, started = make_class(work / "class", args.class_size, args.planted, args.seed)
        generated = time.perf_counter() - t0
        folders = [(d.name, d) for d in sorted((work / "class").iterdir())]
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            report = similarity.check(folders)
            runs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "autograder.orchestrator.cli", "similarity",
                               str(work / "class"), "--out", str(work / "out")],
                              capture_output=True, text=True, cwd=ROOT)
        command_seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"autograde similarity failed:\n{proc.stderr}")
        flagged = {(p.a, p.b) for p in report.pairs}
        found = planted & flagged
        others = [p for p in report.pairs if (p.a, p.b) not in planted]
        page = (work / "out" / "similarity.html").stat().st_size
    finally:
        shutil.rmtree(work, ignore_errors=True)
    files = report.files_compared
    copied_from = {copy: source for source, copy in planted}

    def origin(student: str, module: str) -> str:
        """The solution a generated student's problem started from (a copy's: its original's)."""
        return started[copied_from.get(student, student)][module]

    lines = [
        BEGIN,
        "## Similarity: a synthetic class",
        "",
        f"Machine: {machine()}; load average {load:.1f} when it started (the machine is shared)",
        "",
        "Command: `" + " ".join(["python bench/similarity.py", *sys.argv[1:]]) + "`",
        "",
        f"Date: {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        f"{args.class_size} submissions ({files} files; generated in {generated:.1f} s, seed {args.seed}): "
        f"each started from one of the project's solutions per problem (70 % the reference), renamed, "
        f"reordered, with its own statements and helpers; {args.planted} of them copies of another "
        f"(half of those edited). Defaults: threshold {report.settings.threshold:g}, at least "
        f"{report.settings.min_shared} shared fingerprints, common-code limit {report.common_limit}.",
        "",
        "| | seconds |",
        "|---|---:|",
        f"| `similarity.check` (read, parse, fingerprint, index, compare), median of 3 | {statistics.median(runs):.2f} |",
        f"| `autograde similarity` end to end (new process, {page / 1e6:.1f} MB page written) | {command_seconds:.2f} |",
        "",
        f"Flagged: {len(found)} of the {len(planted)} planted copies; {len(others)} other pair(s)"
        + (" — generated students who started a problem from the same solution other than the "
           "reference and kept enough of it, so they do share code that is not given:" if others else "."),
        *(f"- {p.a} · {p.b}: " + ", ".join(
            f"{m.module} {m.score:.2f} ({m.shared} shared; started from {origin(p.a, m.module)} "
            f"and {origin(p.b, m.module)})" for m in p.flagged)
          for p in others),
        END,
    ]
    section = "\n".join(lines)
    print(section)
    text = args.out.read_text() if args.out.is_file() else ""
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section + "\n"
    args.out.write_text(text)


# -- the measurement behind the defaults --------------------------------------------------------------
MUTATIONS = {
    "renamed and reordered": lambda s, seed: cm.disguise(s, seed),
    "+ 3 helpers of its own": lambda s, seed: cm.pad(cm.disguise(s, seed), seed, functions=3),
    "+ a statement after every 3rd": lambda s, seed: cm.interleave(cm.disguise(s, seed), seed, every=3),
    "+ a statement after every 2nd": lambda s, seed: cm.interleave(cm.disguise(s, seed), seed, every=2),
}


def _hostile_softmaxes() -> list[tuple[str, Path]]:
    hostile = ROOT / "tests" / "harness" / "hostile"
    return [(f"hostile/{d.name}", d) for d in sorted(hostile.iterdir()) if (d / "problem4.py").is_file()]


def _scores(subs: list[tuple[str, Path]], settings: similarity.Settings, exclude: bool) -> list[tuple]:
    notes: list[similarity.Note] = []
    given = similarity.given_hashes(similarity.GIVEN_CODE, settings, notes) if exclude else set()
    docs = similarity.load(subs, settings, notes)
    everything = similarity.Settings(threshold=0.0, min_shared=1, k=settings.k, window=settings.window)
    rows = []
    for pair in similarity.compare(docs, given, everything, limit=len(subs)):
        for m in pair.problems:
            rows.append((pair.a, pair.b, m.module, m.score, m.shared, min(m.size_a, m.size_b)))
    return rows


def measure() -> None:
    independent = list(SOLUTIONS.items()) + _hostile_softmaxes()
    work = Path(tempfile.mkdtemp(prefix="autograde-similarity-measure-"))
    try:
        copies: dict[str, list[tuple[str, Path]]] = {}
        for n, (label, mutate) in enumerate(MUTATIONS.items()):
            copies[label] = []
            for name, folder in SOLUTIONS.items():
                if name == "reference":
                    continue  # given code: all of it is excluded, copied or not
                dest = work / f"{n}" / f"{name}-copy"
                dest.mkdir(parents=True)
                for i, path in enumerate(sorted(folder.glob("problem*.py"))):
                    dest.joinpath(path.name).write_text(mutate(path.read_text(), 1000 * n + i))
                copies[label].append((name, dest))
        print("## Independent solutions: the highest scores of any pair, per problem\n")
        print(f"{len(independent)} submissions: {', '.join(n for n, _ in independent[:len(SOLUTIONS)])} "
              f"and the {len(independent) - len(SOLUTIONS)} problem-4 files of tests/harness/hostile.\n")
        for k, window in [(8, 4), (10, 4), (12, 4), (15, 4), (12, 1), (12, 8)]:
            settings = similarity.Settings(k=k, window=window)
            for exclude in (True, False):
                rows = _scores(independent, settings, exclude)
                top = sorted(rows, key=lambda r: (-r[3], -r[4]))[:3]
                shown = "; ".join(f"{a} · {b} {m} {s:.2f} ({sh} shared)" for a, b, m, s, sh, _ in top) or "none share anything"
                print(f"- k={k}, window={window}, given code {'excluded' if exclude else 'kept'}: {shown}")
        print("\n## Copies of the project's solutions, given code excluded\n")
        print("| copy | k, window | lowest score (problem, shared/smaller) |")
        print("|---|---|---|")
        for label, made in copies.items():
            for k, window in [(10, 4), (12, 4), (15, 4), (12, 8)]:
                settings = similarity.Settings(k=k, window=window)
                subs = list(SOLUTIONS.items()) + [(f"{n}-copy", d) for n, d in made]
                rows = [r for r in _scores(subs, settings, True) if r[1] == f"{r[0]}-copy"]
                low = min(rows, key=lambda r: r[3])
                print(f"| {label} | {k}, {window} | {low[3]:.2f} ({low[2]} of {low[0]}, {low[4]}/{low[5]}) |")
        defaults = similarity.Settings()
        print(f"\nWith the defaults (k={defaults.k}, window {defaults.window}, threshold {defaults.threshold:g}, "
              f"at least {defaults.min_shared} shared), the copied files that are flagged, of those that "
              "share anything beyond the given code:\n")
        print("| copy | students flagged | files flagged | files not flagged (score, shared) |")
        print("|---|---:|---:|---|")
        for label, made in copies.items():
            subs = list(SOLUTIONS.items()) + [(f"{n}-copy", d) for n, d in made]
            rows = [r for r in _scores(subs, defaults, True) if r[1] == f"{r[0]}-copy"]
            hits = [r for r in rows if r[3] >= defaults.threshold and r[4] >= defaults.min_shared]
            misses = [f"{a}/{m} ({s:.2f}, {sh})" for a, _, m, s, sh, _ in rows if (a, m) not in {(h[0], h[2]) for h in hits}]
            students = {r[0] for r in rows}
            print(f"| {label} | {len({h[0] for h in hits})} of {len(students)} | {len(hits)} of {len(rows)} | "
                  f"{', '.join(misses) or '—'} |")
        print("\n## Fingerprints per file after the exclusions (k=12, window 4): what min-shared must exceed\n")
        settings = similarity.Settings()
        notes: list[similarity.Note] = []
        given = similarity.given_hashes(similarity.GIVEN_CODE, settings, notes)
        print("| solution | " + " | ".join(p.module for p in PROBLEMS) + " |")
        print("|---|" + "---:|" * len(PROBLEMS))
        for name, folder in SOLUTIONS.items():
            docs = {d.module: d for d in similarity.load([(name, folder)], settings, notes)}
            cells = [str(len(docs[p.module].fingerprint.selected - given))
                     if p.module in docs else "–" for p in PROBLEMS]
            print(f"| {name} | " + " | ".join(cells) + " |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--class-size", type=int, default=300)
    p.add_argument("--planted", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    p.add_argument("--measure", action="store_true", help="print the measurement behind the defaults")
    args = p.parse_args()
    if args.measure:
        measure()
    else:
        timing(args)


if __name__ == "__main__":
    main()
