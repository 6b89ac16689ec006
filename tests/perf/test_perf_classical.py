"""Fit and predict of every classical method on a subject-dependent fold and a pooled LOSO fold.

"Classical" is every registered method that is not a deep ``TorchMethod`` (the deep ones are in
``test_perf_deep.py``), on fold 0 of the default synthetic set at the quick preset: about 180
training windows subject-dependent and 3,500 pooled LOSO. ``extra_info`` records how many
training windows a method actually used where it subsamples.
"""
from __future__ import annotations

import time

import pytest

from methods.registry import MethodSpec, method_classes
from methods.training import TorchMethod

pytestmark = pytest.mark.benchmark(group="classical", timer=time.process_time)
CLASSICAL = [n for n, cls in method_classes().items() if not issubclass(cls, TorchMethod)]
PROTOCOLS = ("subject-dependent", "loso")


@pytest.fixture(scope="module")
def folds():
    from datasets import load_dataset
    from protocols import get_splitter

    data = load_dataset("synthetic")
    out = {}
    for protocol in PROTOCOLS:
        fold = get_splitter(protocol)(data.meta)[0]
        out[protocol] = tuple(data.subset(i) for i in (fold.train, fold.val, fold.test))
    return out


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("name", CLASSICAL)
def test_fit(benchmark, name, protocol, folds):
    train, val, test = folds[protocol]
    fitted = []

    def setup():
        return (MethodSpec(name).build("quick", random_state=0),), {}

    def fit(method):
        fitted.append(method.fit(train, val))

    benchmark.pedantic(fit, setup=setup, rounds=3 if protocol == "loso" else 5)
    benchmark.extra_info.update(method=name, protocol=protocol, n_train=len(train),
                                n_train_used=getattr(fitted[-1], "n_train_used_", len(train)))


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("name", CLASSICAL)
def test_predict(benchmark, name, protocol, folds):
    train, val, test = folds[protocol]
    method = MethodSpec(name).build("quick", random_state=0).fit(train, val)
    benchmark.extra_info.update(method=name, protocol=protocol, n_test=len(test))
    benchmark.pedantic(method.predict, args=(test,), rounds=5, warmup_rounds=1)
