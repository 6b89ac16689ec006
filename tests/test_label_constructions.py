"""WESAD label constructions (``items=dmer9|panas24|all26``): their items, the stress-only
items outside stress, and that switching construction never re-extracts features."""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import shared_data
from datasets.base import DataError
from datasets.wesad_quest import (LABEL_SETS, PANAS_ITEMS, UNASKED_SCORE, Condition,
                                  condition_distribution, items_name, resolve_items)

OPTIONS = {"shift": 120.0, "n_jobs": 2}  # as tests/test_wesad_e4_real.py: shares its cache


def _condition(name: str, label: int, angry: float) -> Condition:
    panas = {i: 3.0 for i in PANAS_ITEMS}
    panas.update(angry=angry, irritated=angry)
    return Condition(name, label, 0.0, 60.0, panas)


def test_named_constructions():
    assert [len(resolve_items(k)) for k in ("dmer9", "panas24", "all26")] == [9, 24, 26]
    assert not {"angry", "irritated"} & set(resolve_items("panas24"))
    assert items_name(list(LABEL_SETS["panas24"])) == "panas24"
    assert items_name(["happy", "sad"]) == "happy,sad"
    with pytest.raises(DataError, match="panas24"):
        resolve_items("panas25")
    with pytest.raises(DataError, match="joyful"):
        resolve_items(["happy", "joyful"])


def test_stress_only_items_score_not_at_all_outside_stress_and_are_required_in_stress():
    items = resolve_items("all26")
    calm = condition_distribution(_condition("baseline", 1, math.nan), items)
    assert calm[items.index("angry")] == pytest.approx(UNASKED_SCORE / (24 * 3.0 + 2 * UNASKED_SCORE))
    stress = condition_distribution(_condition("stress", 2, 4.0), items)
    assert stress[items.index("irritated")] == pytest.approx(4.0 / (24 * 3.0 + 8.0))
    with pytest.raises(DataError, match="angry"):
        condition_distribution(_condition("stress", 2, math.nan), items)


def test_switching_items_reuses_the_feature_cache(monkeypatch):
    from datasets import load_dataset
    from datasets import wesad_e4

    root = str(shared_data("wesad_e4"))
    base = load_dataset("wesad-e4", data_root=root, **OPTIONS)  # extracts once if the cache is cold

    def no_extraction(**_):
        raise AssertionError("features were extracted again for a new label construction")

    monkeypatch.setattr(wesad_e4, "extract_subject", no_extraction)
    for name, n_items in (("panas24", 24), ("all26", 26)):
        data = load_dataset("wesad-e4", data_root=root, items=name, **OPTIONS)
        assert data.labels.shape == (len(base), n_items) and data.info["items"] == name
        for m in base.modalities:
            assert np.array_equal(data.modalities[m], base.modalities[m])
        assert (data.meta["stimulus"] == data.meta["condition"]).all()
    angry = data.labels[:, data.emotions.index("angry")]
    calm = (data.meta["condition"] != "stress").to_numpy()
    # Scored 1, the scale's minimum, outside stress: the smallest share of its row there.
    assert np.allclose(angry[calm], data.labels[calm].min(axis=1)) and (angry > 0).all()
