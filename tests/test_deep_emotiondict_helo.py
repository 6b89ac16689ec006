"""The distinctive parts of EmotionDict (orthonormal dictionary) and HeLo (transport plan
marginals, learned label embedding, deterministic evaluation)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from methods.emotiondict import EmotionDictionary
from methods.helo import attention, cosine_cost, gromov_plan, label_correlation
from methods.registry import MethodSpec


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small fits run fastest on one thread (and do not fight parallel jobs); restored after."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _orthonormality_error(q: torch.Tensor) -> float:
    return float((q.T @ q - torch.eye(q.shape[1])).abs().max())


def test_dictionary_atoms_orthonormal_and_embedding_is_atom_sum():
    torch.manual_seed(0)
    d = EmotionDictionary(16, 5)
    q = d.atoms()
    assert q.shape == (16, 5) and _orthonormality_error(q) < 1e-5
    a = torch.tensor([[2.0, 0.0, -1.0, 0.0, 0.5]])
    np.testing.assert_allclose(d(a)[0].detach(), (2 * q[:, 0] - q[:, 2] + 0.5 * q[:, 4]).detach(), atol=1e-6)
    with pytest.raises(ValueError):
        EmotionDictionary(4, 5)


def test_dictionary_stays_orthonormal_after_training(conformance_split):
    train, val, _ = conformance_split
    m = MethodSpec("emotiondict").build("smoke", random_state=0, epochs=2, patience=0).fit(train, val)
    dictionary = m.network_.dictionary
    assert _orthonormality_error(dictionary.atoms().detach()) < 1e-5
    # the free weight is not orthonormal: orthonormality comes from the QR, not from the init
    assert _orthonormality_error(dictionary.weight.detach()) > 1e-2
    # large further steps pulling the embedding towards a target keep the atoms orthonormal
    opt = torch.optim.SGD(dictionary.parameters(), lr=1.0)
    target = torch.randn(8, dictionary.weight.shape[0], generator=torch.Generator().manual_seed(1))
    coef = torch.randn(8, dictionary.weight.shape[1], generator=torch.Generator().manual_seed(2))
    before = dictionary.atoms().detach().clone()
    for _ in range(5):
        opt.zero_grad()
        ((dictionary(coef) - target) ** 2).mean().backward()
        opt.step()
    after = dictionary.atoms().detach()
    assert not torch.allclose(before, after, atol=1e-3)
    assert _orthonormality_error(after) < 1e-5


def test_emotiondict_distillation_groups_follow_roles(small_data):
    from methods.emotiondict import EmotionDict

    assert EmotionDict.distillation_groups(small_data) == [["eeg"], ["gsr", "ppg", "video"]]
    assert EmotionDict.distillation_groups(small_data.without("eeg").without("gsr")) == [["ppg"], ["video"]]


def _costs(b: int, n: int, m: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return cosine_cost(torch.randn(b, n, 8, generator=g)), cosine_cost(torch.randn(b, m, 8, generator=g))


def test_transport_plan_uniform_marginals():
    ca, cb = _costs(4, 6, 9)
    plan = gromov_plan(ca, cb)
    assert plan.shape == (4, 6, 9) and bool((plan >= 0).all())
    np.testing.assert_allclose(plan.sum(2), np.full((4, 6), 1 / 6), atol=1e-5)
    np.testing.assert_allclose(plan.sum(1), np.full((4, 9), 1 / 9), atol=1e-5)


def test_transport_plan_given_marginals():
    ca, cb = _costs(3, 5, 7, seed=1)
    g = torch.Generator().manual_seed(2)
    a = torch.softmax(torch.randn(3, 5, generator=g), 1)
    b = torch.softmax(torch.randn(3, 7, generator=g), 1)
    plan = gromov_plan(ca, cb, a, b, inner=1000)  # skewed marginals need more inner projections
    np.testing.assert_allclose(plan.sum(2), a, atol=1e-5)
    np.testing.assert_allclose(plan.sum(1), b, atol=1e-5)


def test_transport_plan_prefers_isometric_matching():
    """Two copies of one token set, the second permuted: GW recovers the permutation."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 6, 4, generator=g) * 3
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    plan = gromov_plan(cosine_cost(x), cosine_cost(x[:, perm]), reg=0.005, outer=30, inner=200)[0]
    # token perm[j] of x sits at position j of the copy
    assert torch.equal(plan.argmax(1), torch.argsort(perm))


def test_dropkey_only_masks_in_training():
    q = k = v = torch.randn(2, 5, 8)
    ref = attention(q, k, v, heads=2, drop_key=0.0)
    torch.manual_seed(0)
    dropped = attention(q, k, v, heads=2, drop_key=0.5)
    assert not torch.allclose(ref, dropped)
    torch.manual_seed(0)
    np.testing.assert_allclose(dropped, attention(q, k, v, heads=2, drop_key=0.5))


def test_label_correlation_hand_computed():
    y = np.array([[0.5, 0.5, 0.0], [0.25, 0.25, 0.5], [0.0, 1.0, 0.0]])
    np.testing.assert_allclose(label_correlation(y), np.corrcoef(y.T), atol=1e-12)
    const = np.array([[0.5, 0.5], [0.5, 0.5]])  # constant columns: identity, not NaN
    np.testing.assert_allclose(label_correlation(const), np.eye(2))


def test_helo_label_embedding_learned_and_eval_deterministic(conformance_split):
    train, val, test = conformance_split
    m = MethodSpec("helo").build("smoke", random_state=0, epochs=2, patience=0)
    initial, build = {}, m.build_network

    def capture(data):  # the embedding as drawn, before the first step
        net = build(data)
        initial["embedding"] = net.label_embedding.detach().clone()
        return net

    m.build_network = capture
    m.fit(train, val)
    net = m.network_
    assert "label_embedding" in dict(net.named_parameters()) and net.label_embedding.requires_grad
    # training (not re-sampling) changed it
    assert not torch.allclose(net.label_embedding, initial["embedding"])
    # eval: no DropKey, no dropout, no re-sampling -> identical repeated predictions
    p1, p2 = m.predict(test), m.predict(test)
    np.testing.assert_array_equal(p1, p2)
    # the learned correlation is the cosine similarity of the (fixed) embedding
    e = torch.nn.functional.normalize(net.label_embedding.detach(), dim=-1)
    np.testing.assert_allclose(net.correlation().detach(), e @ e.T, atol=1e-6)


def test_helo_roles_and_subsets(small_data):
    from methods.helo import HeLo

    assert HeLo.modality_roles(small_data) == ("eeg", ["gsr", "ppg"], ["video"])
    assert HeLo.modality_roles(small_data.without("video")) == ("eeg", ["gsr", "ppg"], [])
    only_video = dataclasses.replace(small_data, modalities={"video": small_data.modalities["video"]},
                                     roles={"video": "behavioral"})
    assert HeLo.modality_roles(only_video) == (None, [], ["video"])
    idx = np.arange(64)
    m = MethodSpec("helo").build("smoke", random_state=0, epochs=1, patience=0).fit(only_video.subset(idx))
    p = m.predict(only_video.subset(idx))
    assert p.shape == (64, small_data.n_emotions) and np.allclose(p.sum(1), 1)
