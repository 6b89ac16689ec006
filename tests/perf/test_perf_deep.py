"""One training step and one prediction of every deep method, at the quick and paper widths.

A step is forward + the method's own loss + backward + its optimiser's update on one batch of
the default synthetic set (the method's batch size, at most 256 windows: SA-CPNN trains full
batch); a prediction is ``predict`` on fold 0's test windows (subject-dependent). Networks are
built by a one-epoch ``fit`` on 256 windows first, outside the timing. ``mpcl[w/ TransEnc]`` is
here too: the gate compares the MPCL step with it.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from methods.registry import MethodSpec, method_classes
from methods.training import TorchMethod

pytestmark = pytest.mark.benchmark(group="deep", timer=time.process_time)
DEEP = [name for name, cls in method_classes().items() if issubclass(cls, TorchMethod)]
SPECS = [MethodSpec(n) for n in DEEP] + [MethodSpec("mpcl", "w/ TransEnc")]
MAX_BATCH = 256


@pytest.fixture(scope="module")
def data():
    from datasets import load_dataset
    from protocols import get_splitter

    synthetic = load_dataset("synthetic")
    fold = get_splitter("subject-dependent")(synthetic.meta)[0]
    return synthetic, synthetic.subset(fold.test)


def built(spec: MethodSpec, preset: str, synthetic):
    """A method fitted for one epoch on 256 random windows, so its network and scaling exist."""
    method = spec.build(preset, random_state=0, epochs=1, device="cpu")
    idx = np.random.default_rng(0).choice(len(synthetic), 256, replace=False)
    return method.fit(synthetic.subset(np.sort(idx)))


CASES = [pytest.param(spec, preset, id=f"{spec.label}-{preset}",
                      marks=[pytest.mark.perf_gate] if spec.name == "mpcl" and preset == "quick" else [])
         for spec in SPECS for preset in ("quick", "paper")]


@pytest.mark.parametrize("spec, preset", CASES)
def test_training_step(benchmark, spec, preset, data):
    synthetic, _ = data
    method = built(spec, preset, synthetic)
    net = method.network_.train()
    opt = method.make_optimizer(net.parameters())
    bs = min(method.batch_size, MAX_BATCH)
    rng = np.random.default_rng(1)
    batches = iter([method._to_batch(synthetic, rng.choice(len(synthetic), bs, replace=False))
                    for _ in range(40)])

    def step():
        batch = next(batches)
        opt.zero_grad()
        method.loss(net(batch), batch).backward()
        opt.step()

    benchmark.extra_info.update(method=spec.label, preset=preset, batch=bs,
                                parameters=method.n_parameters())
    benchmark.pedantic(step, rounds=30, warmup_rounds=3)


def test_prediction(benchmark, spec, preset, data):
    synthetic, test = data
    method = built(spec, preset, synthetic)
    benchmark.extra_info.update(method=spec.label, preset=preset, windows=len(test))
    benchmark.pedantic(method.predict, args=(test,), rounds=5, warmup_rounds=1)
