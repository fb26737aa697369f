"""The worker's training code (`autograder.worker.training`) in-process, on a few generated images.

What the probes observe — losses, early stops, optimizer steps, gradients left uncleared, the
order of the mini-batches — is checked here on runs of a few dozen steps; grading whole
submissions through the sandbox is in test_training_variants.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.transforms as transforms
from torch.utils.data import RandomSampler

from autograder.worker import baseline
from autograder.worker import training, training_probes

REFERENCE = Path(__file__).resolve().parents[2] / "autograder" / "judge" / "reference"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """As in the worker: on a busy 2-core machine, batch-4 steps on two threads are many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data() -> training.TrainingData:
    rng = np.random.default_rng(0)
    return training.TrainingData(rng.integers(0, 256, size=(64, 32, 32, 3), dtype=np.uint8),
                                 rng.integers(0, 10, size=64).astype(np.int64),
                                 rng.integers(0, 256, size=(12, 32, 32, 3), dtype=np.uint8))


def student_pieces(train=None, criterion=None, transform=None) -> training.Pieces:
    """Problem 2's pieces as a student's (baseline ones unless given), their own train included."""
    names = {"transform": transform or baseline.transform, "Net": baseline.Net,
             "criterion": criterion or baseline.criterion, "make_optimizer": baseline.make_optimizer,
             "train": train or reference_train}
    return training.pieces_for("problem2", lambda module, name: names[name])


def reference_train(net, trainloader, criterion, optimizer, epochs):
    for _ in range(epochs):
        for inputs, labels in trainloader:
            optimizer.zero_grad()
            loss = criterion(net(inputs), labels)
            loss.backward()
            optimizer.step()


def variation_pieces(**own) -> training.Pieces:
    module = {"Net": "problem3_1", "make_optimizer": "problem3_2", "train_transform": "problem3_3",
              "criterion": "problem3_5"}[next(iter(own))]
    return training.pieces_for(module, lambda m, name: own[name])


def test_normalise_is_the_homeworks_transform(data):
    expected = torch.stack([baseline.transform(training._to_pil(x)) for x in data.test_images])
    torch.testing.assert_close(training.normalise(data.test_images), expected, rtol=0, atol=1e-6)


def test_grader_order_is_what_a_seeded_random_sampler_gives():
    steps, n = 30, 64
    epochs, per_epoch = training.epoch_plan(steps, n)
    assert epochs * per_epoch == steps * training.BATCH_SIZE
    sampler = RandomSampler(range(n), num_samples=per_epoch, generator=torch.Generator().manual_seed(5))
    handed_out = [i for _ in range(epochs) for i in sampler]
    assert training.sample_order(steps, 5, n).tolist() == handed_out
    assert training.sample_order(steps, 6, n).tolist() != handed_out


def test_the_students_loader_hands_out_what_default_collate_would(data):
    """Mini-batches fetched whole and converted on demand (`_NormalisedImages.__getitems__`) are the
    very tensors a plain DataLoader would stack from the homework's transform of one PIL image at a
    time: values, dtypes, order."""
    from torch.utils.data.dataloader import default_collate

    loader, epochs = training._student_loader(data, student_pieces(), steps=10, seed=2, device="cpu")
    assert epochs == 1 and isinstance(loader.dataset, training._NormalisedImages)
    order = training.sample_order(10, 2, len(data.train_labels)).tolist()
    batches = list(loader)
    assert len(batches) == len(loader) == 10
    for step, (inputs, labels) in enumerate(batches):
        want_inputs, want_labels = default_collate([(baseline.transform(training._to_pil(data.train_images[i])),
                                                     int(data.train_labels[i])) for i in order[4 * step:4 * step + 4]])
        assert inputs.dtype == want_inputs.dtype and labels.dtype == want_labels.dtype
        assert torch.equal(inputs, want_inputs) and torch.equal(labels, want_labels)


def test_full_budget_is_two_epochs():
    assert training.epoch_plan(25_000) == (2, 50_000)
    assert training.epoch_plan(3_000) == (1, 12_000)


def test_student_train_is_observed(data):
    run = training.run_training(student_pieces(), data, steps=30, seed=1)
    assert len(run.losses) == run.steps_run == run.optimizer_steps == 30
    assert run.stale_gradients == 0 and run.checked_forwards == 30 and run.stopped == ""
    assert run.predictions.dtype == np.int64 and run.predictions.shape == (12,)
    assert set(run.predictions.tolist()) <= set(range(10))
    assert run.owner == {n: "student" for n in ("transform", "Net", "criterion", "make_optimizer", "train")}


def test_same_seed_same_run_and_same_order_as_the_grader_loop(data):
    a = training.run_training(student_pieces(), data, steps=20, seed=3)
    b = training.run_training(student_pieces(), data, steps=20, seed=3)
    np.testing.assert_array_equal(a.losses, b.losses)
    # the grader's own loop with the same (baseline) pieces sees the same batches in the same order
    own = training.run_training(variation_pieces(criterion=baseline.criterion), data, steps=20, seed=3)
    np.testing.assert_allclose(own.losses, a.losses, rtol=1e-5)


def test_train_without_zero_grad_is_seen(data):
    def no_zero_grad(net, trainloader, criterion, optimizer, epochs):
        for _ in range(epochs):
            for inputs, labels in trainloader:
                criterion(net(inputs), labels).backward()
                optimizer.step()

    run = training.run_training(student_pieces(train=no_zero_grad), data, steps=20, seed=0)
    assert run.stale_gradients == 19  # every backward pass after the first step


def test_zero_grad_after_the_loss_as_the_tutorial_writes_it(data):
    """Forward, loss, then ``optimizer.zero_grad(); loss.backward(); optimizer.step()`` (the
    PyTorch tutorials' order) clears the gradients in time; ``net.zero_grad()`` after the step
    does too, and so does setting each ``p.grad = None`` before backward."""
    def tutorial(net, trainloader, criterion, optimizer, epochs):
        for _ in range(epochs):
            for inputs, labels in trainloader:
                outputs = net(inputs)
                loss = criterion(outputs, labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

    def after_the_step(net, trainloader, criterion, optimizer, epochs):
        for _ in range(epochs):
            for inputs, labels in trainloader:
                criterion(net(inputs), labels).backward()
                optimizer.step()
                net.zero_grad()

    def grads_set_to_none_after_the_loss(net, trainloader, criterion, optimizer, epochs):
        for _ in range(epochs):
            for inputs, labels in trainloader:
                loss = criterion(net(inputs), labels)
                for p in net.parameters():
                    p.grad = None
                loss.backward()
                optimizer.step()

    for train in (tutorial, after_the_step, grads_set_to_none_after_the_loss):
        run = training.run_training(student_pieces(train=train), data, steps=20, seed=0)
        assert (run.stale_gradients, run.checked_forwards, run.optimizer_steps) == (0, 20, 20), train.__name__


def test_train_that_ignores_epochs_is_stopped_at_the_budget(data):
    def twice(net, trainloader, criterion, optimizer, epochs):
        for _ in range(2):
            reference_train(net, trainloader, criterion, optimizer, 1)

    run = training.run_training(student_pieces(train=twice), data, steps=10, seed=0)
    assert run.steps_run == 10 and "more than the loader's 10 mini-batches" in run.stopped


class NanAfter:
    """A criterion that turns non-finite at a given step, like NLLLoss on raw outputs does."""

    def __init__(self, step: int) -> None:
        self.step, self.calls = step, 0

    def __call__(self, outputs, labels):
        self.calls += 1
        loss = baseline.criterion(outputs, labels)
        return loss * math.nan if self.calls >= self.step else loss


@pytest.mark.parametrize("where", ["student train", "grader loop"])
def test_nonfinite_loss_stops_the_run(data, where):
    criterion = NanAfter(7)
    pieces = (student_pieces(criterion=criterion) if where == "student train"
              else variation_pieces(criterion=criterion))
    run = training.run_training(pieces, data, steps=30, seed=0)
    assert run.nonfinite_step == 7 and run.steps_run == 7 and len(run.losses) == 7
    assert run.stopped == "loss became nan at step 7"
    assert criterion.calls == 7  # nothing ran after the stop
    assert run.predictions.shape == (12,)


def test_a_student_train_that_swallows_exceptions_is_still_stopped(data):
    def swallowing(net, trainloader, criterion, optimizer, epochs):
        for _ in range(epochs):
            for inputs, labels in trainloader:
                try:
                    optimizer.zero_grad()
                    criterion(net(inputs), labels).backward()
                    optimizer.step()
                except Exception:
                    pass

    run = training.run_training(student_pieces(train=swallowing, criterion=NanAfter(3)), data, steps=30, seed=0)
    assert run.nonfinite_step == 3


def test_variation_with_random_train_transform(data):
    flip = transforms.Compose([transforms.RandomHorizontalFlip(), transforms.ToTensor(),
                               transforms.Normalize((0.5,) * 3, (0.5,) * 3)])
    run = training.run_training(variation_pieces(train_transform=flip), data, steps=10, seed=0)
    assert run.steps_run == 10
    assert run.owner["train_transform"] == "student" and run.owner["Net"] == "baseline"


def test_transform_that_returns_no_tensor_is_named(data):
    with pytest.raises(TypeError, match="problem3_3.py:train_transform returned a Image"):
        training.run_training(variation_pieces(train_transform=lambda img: img), data, steps=2, seed=0)


def test_net_with_wrong_output_is_named(data):
    class Eleven(baseline.Net):
        """Ten outputs in training, eleven when predicting."""

        def forward(self, x):
            out = super().forward(x)
            return out if self.training else torch.cat([out, out[:, :1]], 1)

    with pytest.raises(ValueError, match=r"is \(12, 11\); \(12, 10\) was expected"):
        training.run_training(variation_pieces(Net=Eleven), data, steps=2, seed=0)


def test_pixel_oracle_and_the_reference_evaluate():
    import importlib.util

    spec = importlib.util.spec_from_file_location("reference_problem2", REFERENCE / "problem2.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    labels = torch.arange(8) % 10
    inputs = torch.zeros(8, 3, 32, 32)
    predictions = torch.tensor([0, 1, 2, 0, 4, 0, 6, 7])  # right for 6 of 8
    inputs[torch.arange(8), 0, 0, predictions] = 1.0
    net = training_probes.PixelOracle()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(inputs, labels), batch_size=4)
    accuracy, per_class = module.evaluate(net, loader)
    assert accuracy == 6 / 8
    assert per_class[:8] == [1, 1, 1, 0, 1, 0, 1, 1]
    assert net.calls_in_eval_mode == 2 and net.calls_in_train_mode == 0 and net.images_seen == 8


def test_only_the_homeworks_transform_takes_the_shortcut(data):
    flip = transforms.Compose([transforms.RandomHorizontalFlip(), transforms.ToTensor(),
                               transforms.Normalize((0.5,) * 3, (0.5,) * 3)])
    other = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.25,) * 3)])
    assert training.acts_as_baseline(baseline.transform, data.train_images, "transform")
    assert not training.acts_as_baseline(flip, data.train_images, "transform")
    assert not training.acts_as_baseline(other, data.train_images, "transform")


def test_other_transform_is_applied_image_by_image(data):
    calls = []

    def counted(img):
        calls.append(1)
        return transforms.Normalize((0.5,) * 3, (0.25,) * 3)(transforms.ToTensor()(img))

    run = training.run_training(student_pieces(transform=counted), data, steps=5, seed=0)
    assert run.steps_run == 5
    # the shortcut's check stops at the first image (once for training, once for test), then
    # 20 training and 12 test images go through it one by one
    assert len(calls) == 2 + 20 + 12


@pytest.mark.parametrize("where", ["student train", "grader loop"])
def test_a_shorter_budget_is_the_start_of_a_longer_run(data, where):
    """What lets bench/measure_floors.py read several budgets off one run: same seed, same start."""
    make = student_pieces if where == "student train" else (lambda: variation_pieces(criterion=baseline.criterion))
    short = training.run_training(make(), data, steps=8, seed=4, test_count=12)
    long = training.run_training(make(), data, steps=24, seed=4, test_count=12, checkpoints={8: 12})
    np.testing.assert_array_equal(long.losses[:8], short.losses)
    np.testing.assert_array_equal(long.checkpoints["8"], short.predictions)
    assert long.steps_run == 24


@pytest.mark.parametrize("where", ["student train", "grader loop"])
def test_a_run_sets_its_own_kernels_whatever_ran_before(data, where):
    """oneDNN off for training, on for prediction, whatever state the process was left in (by an
    earlier run or a student's module): the run is the same, and the state is given back."""
    make = student_pieces if where == "student train" else (lambda: variation_pieces(criterion=baseline.criterion))
    before = torch.backends.mkldnn.enabled
    runs = []
    try:
        for state in (True, False):
            torch.backends.mkldnn.enabled = state
            runs.append(training.run_training(make(), data, steps=12, seed=3, test_count=12))
            assert torch.backends.mkldnn.enabled is state
    finally:
        torch.backends.mkldnn.enabled = before
    np.testing.assert_array_equal(runs[0].losses, runs[1].losses)
    np.testing.assert_array_equal(runs[0].predictions, runs[1].predictions)


def test_floors_are_far_above_chance_and_grow_with_the_budget():
    from autograder.common import budgets

    order = ["quick", "standard", "full"]
    assert budgets.budget("full").steps == 2 * 50_000 // training.BATCH_SIZE  # the homework's 2 epochs
    assert budgets.budget("full").shorter == ()  # every problem gets the homework's recipe
    for problem in budgets.TRAINED:
        steps = [budgets.budget(n).steps_for(problem) for n in order]
        assert steps == sorted(set(steps)), problem
        floors = [budgets.floor(n, problem) for n in order]
        assert floors == sorted(floors), problem
        # well above the 10–11 % of runs that do not learn: 5 standard errors on the quick test images
        chance = 0.11
        assert floors[0] >= chance + 5 * (chance * (1 - chance) / budgets.budget("quick").test_images) ** 0.5, problem
    # a training's own timeout ends it before pytest-timeout would end the whole judge, even for a
    # check whose run waited behind another one (trainings side by side); the judge's own wall-clock
    # bound comes after every probe's
    for n in order:
        b = budgets.budget(n)
        assert 2 * b.timeout() < b.check_timeout < b.judge_timeout, n
        assert b.submission_timeout < b.judge_timeout, n


@pytest.mark.parametrize("where", ["student train", "grader loop"])
def test_a_sequential_run_ended_at_a_checkpoint_is_the_run_of_that_length(data, where):
    """A sequential budget stops a longer run at a checkpoint: the reply is what a fixed run of
    that length replies (losses, predictions, steps), and a run that goes on is the longer run."""
    make = student_pieces if where == "student train" else (lambda: variation_pieces(criterion=baseline.criterion))
    short = training.run_training(make(), data, steps=8, seed=4, test_count=12)
    long = training.run_training(make(), data, steps=24, seed=4, test_count=12)
    seen: list[tuple[int, int]] = []

    def stop_at_8(at):
        seen.append((at.paused_at, len(at.losses)))
        return False

    ended = training.run_training(make(), data, steps=24, seed=4, test_count=12, checkpoints={8: 12, 16: 12},
                                  decide=stop_at_8)
    assert seen == [(8, 8)]
    assert ended.ended_at == 8 and ended.paused_at is None and ended.steps_run == 8
    np.testing.assert_array_equal(ended.losses, short.losses)
    np.testing.assert_array_equal(ended.predictions, short.predictions)
    went_on = training.run_training(make(), data, steps=24, seed=4, test_count=12, checkpoints={8: 12, 16: 12},
                                    decide=lambda at: True)
    assert went_on.ended_at is None and went_on.steps_run == 24
    np.testing.assert_array_equal(went_on.losses, long.losses)
    np.testing.assert_array_equal(went_on.predictions, long.predictions)


def test_a_checkpoint_leaves_the_students_train_as_it_was(data):
    """The prediction at a checkpoint runs in eval mode without gradients; the student's ``train``
    finds its net in train mode with gradients on at every step, before and after."""
    modes: list[tuple[bool, bool]] = []

    def train(net, trainloader, criterion, optimizer, epochs):
        for _ in range(epochs):
            for inputs, labels in trainloader:
                modes.append((net.training, torch.is_grad_enabled()))
                optimizer.zero_grad()
                criterion(net(inputs), labels).backward()
                optimizer.step()

    run = training.run_training(student_pieces(train=train), data, steps=16, seed=1, test_count=12,
                                checkpoints={4: 12, 8: 12}, decide=lambda at: True)
    assert run.steps_run == 16 and modes == [(True, True)] * 16


def test_a_sequential_run_pauses_on_its_own_thread(data):
    """The worker's side of a sequential budget: the run waits at each checkpoint until the
    judge's word (`training.SequentialRun`); what the student's code raised reaches the probe."""
    run = training.SequentialRun(lambda decide: training.run_training(
        student_pieces(), data, steps=24, seed=4, test_count=12, checkpoints={8: 12, 16: 12}, decide=decide))
    first = run.next()
    assert first.paused_at == 8 and len(first.losses) == 8 and run.paused
    second = run.resume(True)
    assert second.paused_at == 16
    final = run.resume(True)
    assert final.paused_at is None and final.steps_run == 24 and not run.paused

    def broken(net, trainloader, criterion, optimizer, epochs):
        raise ValueError("the student's own error")

    failing = training.SequentialRun(lambda decide: training.run_training(
        student_pieces(train=broken), data, steps=24, seed=4, test_count=12, checkpoints={8: 12}, decide=decide))
    with pytest.raises(ValueError, match="own error"):
        failing.next()


def test_a_sequential_run_ends_even_a_train_that_swallows_everything(data):
    """A ``train`` that catches BaseException around its step still ends at the checkpoint: the
    loader hands out no more mini-batches, so no forward pass follows the checkpoint."""
    forwards = []

    def swallowing(net, trainloader, criterion, optimizer, epochs):
        for _ in range(epochs):
            for inputs, labels in trainloader:
                try:
                    forwards.append(1)
                    optimizer.zero_grad()
                    criterion(net(inputs), labels).backward()
                    optimizer.step()
                except BaseException:
                    pass

    run = training.run_training(student_pieces(train=swallowing), data, steps=24, seed=0, test_count=12,
                                checkpoints={8: 12}, decide=lambda at: False)
    assert run.ended_at == 8 and len(forwards) == 8
