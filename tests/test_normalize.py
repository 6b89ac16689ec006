"""Per-subject feature normalisation: standardises within each subject, and no label (nor any
other subject's window) reaches a subject's normalised features."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark.runner import run
from benchmark.spec import RunSpec
from datasets.base import DataError, FeatureSet
from datasets.normalize import normalize_features
from methods.registry import parse_methods


def _with(data: FeatureSet, **changes) -> FeatureSet:
    fields = dict(modalities=data.modalities, roles=data.roles, labels=data.labels,
                  emotions=data.emotions, valence=data.valence, meta=data.meta, name=data.name)
    return FeatureSet(**{**fields, **changes})


def test_each_subject_is_standardised_with_its_own_statistics(small_data):
    norm = normalize_features(small_data, "subject")
    for s in np.unique(small_data.subjects):
        x = norm.concat_features()[small_data.subjects == s].astype(np.float64)
        assert np.allclose(x.mean(axis=0), 0, atol=1e-5) and np.allclose(x.std(axis=0), 1, atol=1e-4)
    assert norm.modalities["eeg"].shape == small_data.modalities["eeg"].shape
    assert norm.labels is small_data.labels and norm.meta.equals(small_data.meta)
    assert normalize_features(small_data, "none") is small_data
    with pytest.raises(DataError, match="normalize='global'"):
        normalize_features(small_data, "global")


def test_no_label_information_crosses(small_data):
    """Permuting every label row leaves the normalised features bit-identical."""
    perm = np.random.default_rng(0).permutation(len(small_data))
    shuffled = _with(small_data, labels=small_data.labels[perm])
    a, b = normalize_features(small_data, "subject"), normalize_features(shuffled, "subject")
    for m in a.modalities:
        assert np.array_equal(a.modalities[m], b.modalities[m])


def test_a_subjects_features_depend_only_on_its_own_windows(small_data):
    """Changing every other subject's features leaves the test subject's normalised features
    bit-identical; changing one of its own windows changes them."""
    test = small_data.subjects == small_data.subjects[0]
    rng = np.random.default_rng(1)
    others = {m: np.where(test.reshape(-1, *[1] * (x.ndim - 1)), x, rng.normal(size=x.shape))
              for m, x in small_data.modalities.items()}
    a = normalize_features(small_data, "subject")
    b = normalize_features(_with(small_data, modalities=others), "subject")
    for m in a.modalities:
        assert np.array_equal(a.modalities[m][test], b.modalities[m][test])
    own = {m: x.copy() for m, x in small_data.modalities.items()}
    own["gsr"][np.flatnonzero(test)[0]] += 5.0
    c = normalize_features(_with(small_data, modalities=own), "subject")
    assert not np.array_equal(a.modalities["gsr"][test], c.modalities["gsr"][test])


def test_runner_option_is_in_the_job_key_only_when_set(tmp_path):
    base = dict(methods=parse_methods("aa-knn"), preset="smoke", protocol="loso",
                dataset_options={"n_subjects": 3, "n_windows": 2})
    plain = run(RunSpec(out=tmp_path / "a", **base))
    normed = run(RunSpec(out=tmp_path / "b", protocol_options={"normalize": "subject"}, **base))
    splitter = {"val_size": 0.1}  # the splitter's resolved options, in every key
    assert all(r["config"]["protocol"]["options"] == splitter for r in plain.records)
    assert all(r["config"]["protocol"]["options"] == {**splitter, "normalize": "subject"}
               for r in normed.records)
    assert not set(plain.results["key"]) & set(normed.results["key"])
    assert (normed.results["status"] == "ok").all()
    assert not np.allclose(plain.results["kl"], normed.results["kl"])
