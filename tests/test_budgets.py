"""Equal training budgets (docs/concepts/presets.md): within a preset every deep method trains the same number
of epochs with the same patience and the shared loop's early-stopping rule, unless the method
declares, with a reason, that its paper prescribes another budget in that preset."""
import pytest

from methods.registry import method_classes
from methods.training import TorchMethod

DEEP = sorted(n for n, c in method_classes().items() if issubclass(c, TorchMethod) and c.shared_budget)


def test_the_deep_methods_are_covered():
    assert {"maet", "carat", "emotiondict", "helo", "tical", "mpcl"} <= set(DEEP)


@pytest.mark.parametrize("name", DEEP)
@pytest.mark.parametrize("preset", sorted(TorchMethod.presets))
def test_budget_is_the_shared_one_unless_declared(name, preset):
    cls = method_classes()[name]
    shared = {k: TorchMethod.presets[preset][k] for k in TorchMethod.BUDGET_KEYS}
    got = {k: cls.presets[preset][k] for k in TorchMethod.BUDGET_KEYS}
    reason = cls.budget_exceptions.get(preset, "")
    if got != shared:
        assert reason.strip(), f"{name}[{preset}] trains {got}, not the shared {shared}, without a reason"
    assert cls.fit is TorchMethod.fit, "the early-stopping rule is the shared loop's"
    built = {k: getattr(cls().set_params(**cls.presets[preset]), k) for k in TorchMethod.BUDGET_KEYS}
    assert built == got


@pytest.mark.parametrize("name", DEEP)
def test_exceptions_name_a_preset_that_differs(name):
    """A declared exception must be used: it names a preset whose budget really differs."""
    cls = method_classes()[name]
    for preset, reason in cls.budget_exceptions.items():
        assert preset in TorchMethod.presets and reason.strip()
        assert any(cls.presets[preset][k] != TorchMethod.presets[preset][k] for k in TorchMethod.BUDGET_KEYS)


def test_subclass_presets_merge_over_the_shared_budget():
    class Toy(TorchMethod):
        presets = {"quick": {"lr": 0.1}}

    assert Toy.presets["quick"] == {**TorchMethod.presets["quick"], "lr": 0.1}
    assert Toy.presets["paper"] == TorchMethod.presets["paper"]


@pytest.mark.parametrize("name", sorted(n for n, c in method_classes().items() if issubclass(c, TorchMethod)))
def test_a_bare_construction_trains_the_quick_budget(name):
    """One source for the training budget: a deep method built with its defaults (in a notebook,
    say) trains what the default run (quick preset) gives it, not a budget of its own."""
    cls = method_classes()[name]
    defaults = cls().get_params()
    assert {k: defaults[k] for k in TorchMethod.BUDGET_KEYS} == {
        k: cls.presets["quick"][k] for k in TorchMethod.BUDGET_KEYS}
