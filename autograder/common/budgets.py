"""Training budgets and accuracy floors, both chosen from measurement (see docs/training.md).

A fixed budget is a number of mini-batches of 4 images per training run, and how many test images
(from the front of the fixed-shuffled test split) the accuracy is computed on. ``full`` is the
homework's recipe: 2 epochs over the 50,000 training images. The sequential budget ``adaptive``
(the default) is one run checked at the fixed budgets' lengths in turn: it ends with a pass at the
first checkpoint where the accuracy clears that checkpoint's floor by `EARLY_MARGIN` with a loss
finite and not rising, and the last checkpoint's floor decides the rest (`autograder.judge.sequential`).

A floor is the test accuracy a problem's training must reach at a budget: the worst of the
reference's seeds (``bench/measure_floors.py``; at ``quick`` thirty seeds, and 3-(1)'s seed
1367392631, which reaches 24.6 %) less a margin of ``FLOOR_MARGIN`` points, rounded down to a whole
percent. Every floor is well above chance (10 %: the lowest, 16 % at ``quick``, is eight standard
errors of an accuracy on 2,000 test images above the 10–11 % of runs that do not learn), so a run
that diverges (nan) or never learns fails it, while the reference passes whatever the run seed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """How long each training runs, and on how much of the test set it is judged."""

    name: str
    steps: int
    """Mini-batches of 4 images."""
    test_images: int
    """Test images predicted (the first of the fixed-shuffled test split)."""
    check_timeout: float
    """pytest-timeout's bound on one check in the judge: a last resort above the worker's own
    deadlines — twice a training probe's `timeout` (a check may wait for its run behind one other)
    and a margin."""
    shorter: tuple[tuple[str, int], ...] = ()
    """(problem, mini-batches) for problems trained for fewer than ``steps``: 3-(1), whose steps
    cost about three LeNet steps and whose net learns faster per step (docs/training.md)."""
    stages: tuple[str, ...] = ()
    """A sequential budget: the fixed budgets whose lengths are its checkpoints, shortest first.
    One run is checked at each (`autograder.judge.sequential`); it ends with a pass as soon as the
    pass is certain, and the last one's floor decides the rest."""

    def steps_for(self, problem: str) -> int:
        """Mini-batches of 4 that ``problem`` is trained for at this budget."""
        return dict(self.shorter).get(problem, self.steps)

    def run_cost(self, problem: str) -> float:
        """``problem``'s run at this budget in LeNet steps (`STEP_COST` × its mini-batches): what
        trainings side by side order by, costliest first."""
        return STEP_COST.get(problem, 1.0) * self.steps_for(problem)

    def timeout(self, seconds_per_step: float = 0.1) -> float:
        """Seconds one training probe may take: about 10–40× the measured cost of a step on an idle
        2-core CPU here (3 ms for the LeNet, 10 ms for 3-(1)), since a loaded machine was seen
        20–40× slower than idle. A check may wait for its run behind one other (trainings side by
        side), so twice this stays under the runner's pytest-timeout per check (quick 2 × 390 <
        900 s, standard 2 × 970 < 2400 s, full 2 × 2720 < 6000 s)."""
        return 120.0 + self.steps * seconds_per_step + self.test_images * 0.01

    @property
    def submission_timeout(self) -> float:
        """Wall-clock seconds all probes of one submission may take together at this budget."""
        return 3600.0 + 7 * self.timeout()

    @property
    def judge_timeout(self) -> float:
        """Wall-clock seconds a whole judge process may run before `autograde` ends it: every probe
        of the submission, the workers' starts and the judge's own work."""
        return self.submission_timeout + 900.0


BUDGETS: dict[str, Budget] = {
    "quick": Budget("quick", steps=2_500, test_images=2_000, check_timeout=900,
                    shorter=(("problem3_1", 1_500),)),
    "standard": Budget("standard", steps=7_500, test_images=10_000, check_timeout=2400,
                       shorter=(("problem3_1", 4_500),)),
    "full": Budget("full", steps=25_000, test_images=10_000, check_timeout=6000),
    "adaptive": Budget("adaptive", steps=25_000, test_images=10_000, check_timeout=6000,
                       stages=("quick", "standard", "full")),
}

STEP_COST: dict[str, float] = {"problem2": 1.0, "problem3_1": 2.8, "problem3_2": 0.9, "problem3_3": 1.4,
                               "problem3_4": 0.9, "problem3_5": 0.8, "problem3_6": 0.7}
"""CPU time of a training step of each problem's reference run, relative to problem 2's
(``python bench/step_cost.py --data …``); see `Budget.run_cost`."""

FLOOR_MARGIN = 6.0
"""Percentage points between the reference's worst measured seed and the floor."""

TRAINED = ("problem2", "problem3_1", "problem3_2", "problem3_3", "problem3_4", "problem3_5", "problem3_6")

FLOORS: dict[str, dict[str, float]] = {
    "quick": {"problem2": 0.16, "problem3_1": 0.18, "problem3_2": 0.28, "problem3_3": 0.17,
              "problem3_4": 0.28, "problem3_5": 0.16, "problem3_6": 0.16},
    "standard": {"problem2": 0.36, "problem3_1": 0.35, "problem3_2": 0.39, "problem3_3": 0.36,
                 "problem3_4": 0.39, "problem3_5": 0.36, "problem3_6": 0.36},
    "full": {"problem2": 0.46, "problem3_1": 0.54, "problem3_2": 0.49, "problem3_3": 0.46,
             "problem3_4": 0.49, "problem3_5": 0.44, "problem3_6": 0.45},
}
"""Accuracy floors (fractions) per budget and problem; the measured table is in docs/training.md."""

EARLY_MARGIN: dict[str, dict[str, float]] = {
    "quick": {"problem2": 0.17, "problem3_1": 0.12, "problem3_2": 0.07, "problem3_3": 0.16,
              "problem3_4": 0.07, "problem3_5": 0.17, "problem3_6": 0.17},
    "standard": {"problem2": 0.04, "problem3_1": 0.05, "problem3_2": 0.04, "problem3_3": 0.04,
                 "problem3_4": 0.04, "problem3_5": 0.04, "problem3_6": 0.04},
}
"""Points (fractions) above a checkpoint's floor that end a sequential run there with a pass
(docs/training.md, "Sequential budget"), from ``bench/measure_floors.py``: at ``quick``, the
LeNet-with-SGD problems (2, 3-(3), 3-(5), 3-(6)) need 33 %, above the 29–30 % that SGD at ten times
the homework's learning rate reaches there and then keeps (28 % at ``standard``: a late failure)
— their reference runs end at ``standard`` unless far above the middle of their seeds; 3-(1) its
reference's mean less two standard deviations (30 %); Adam and batch norm (3-(2), 3-(4)) 35 %, about
their reference's worst seed (34.5 and 34.8 %) and six points above the 10× variant. At ``standard``, a few points above the
floor and below every measured seed of the reference (40 % for the LeNet problems, whose
late-failing variant sits at 28 %)."""

RISING_WINDOW = 0.2
"""A sequential run's loss is *rising* at a checkpoint when the mean loss of the last fifth of its
mini-batches is above the mean of the fifth before (a run whose loss climbs does not stop early)."""

LOSS_DROP = 0.05
"""``train`` lowers the loss: the mean loss of the last tenth of the mini-batches must be at least
this much below the mean of the first tenth (the reference's drop is several times larger)."""


def budget(name: str) -> Budget:
    """The budget called ``name`` (one of `BUDGETS`)."""
    return BUDGETS[name]


FIXED = tuple(name for name, b in BUDGETS.items() if not b.stages)
"""The budgets of one fixed length (floors are measured for these)."""


def floor(budget_name: str, problem: str) -> float:
    """The accuracy ``problem`` must reach at ``budget_name`` (a sequential budget: its last stage's)."""
    b = BUDGETS[budget_name]
    return FLOORS[b.stages[-1] if b.stages else budget_name][problem]


def early_pass(stage: str, problem: str) -> float:
    """The accuracy at checkpoint ``stage`` above which a sequential run ends with a pass (with a
    loss finite and not rising): that checkpoint's floor plus `EARLY_MARGIN`."""
    return round(FLOORS[stage][problem] + EARLY_MARGIN[stage][problem], 4)
