"""Longest-first job order for worker pools (benchmark.runner.longest_first): the costliest jobs
start first, so that at the end of a run no worker idles while another finishes a long fit."""
from __future__ import annotations

from benchmark.runner import estimated_cost, longest_first, prepare
from benchmark.spec import RunSpec
from methods.registry import method_classes, parse_methods
from methods.training import TorchMethod


def _planned(methods: str):
    cfg = RunSpec(methods=parse_methods(methods), preset="smoke", protocol_options={"folds": 5})
    return prepare(cfg)[2]


def test_costliest_method_first_and_classical_last():
    planned = _planned("prior,ldl-lrr,sa-cpnn,helo")  # plan order: references, then as listed
    ordered = [job.method.name for job, _ in longest_first(planned)]
    n = len(ordered)
    assert set(ordered[: n // 5]) == {"helo"}  # every HeLo job before anything else
    assert ordered.index("sa-cpnn") < ordered.index("ldl-lrr")
    last_deep = max(i for i, name in enumerate(ordered) if name in ("helo", "sa-cpnn"))
    classical = {name for name in ordered if not issubclass(method_classes().get(name, object), TorchMethod)}
    assert "ldl-lrr" in classical and "prior" in classical
    assert set(ordered[last_deep + 1:]) == classical  # sub-second fits, after every deep job
    assert len(ordered) == len(planned)


def test_bigger_folds_first_within_a_method():
    planned = [(j, f) for j, f in _planned("helo") if j.method.name == "helo"]
    costs = [estimated_cost(j, f) for j, f in longest_first(planned)]
    assert costs == sorted(costs, reverse=True)
    sizes = {len(f.train) for _, f in planned}
    assert len(sizes) > 1 or len(set(costs)) == 1  # costs follow the training size


def test_every_deep_method_declares_its_cost():
    """A deep method without a measured ``relative_cost`` would be scheduled as an average one."""
    for name, cls in method_classes().items():
        if issubclass(cls, TorchMethod):
            assert "relative_cost" in vars(cls), f"{name} declares no relative_cost"
