"""MPCL's parts against their definitions (docs/methods/mpcl.md) and every variant end to end."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from methods.contract import check_prediction
from methods.mpcl.hopfield import Hopfield, hopfield_energy, static_hopfield
from methods.mpcl.hsc import HSC, slot_schedule
from methods.mpcl.model import MPCLConfig, MPCLNetwork, Roles
from methods.mpcl.pcl import info_loob, semloob, semloob_retrievals
from methods.mpcl.prd import prd_loss, relation_matrix
from methods.registry import MethodSpec, method_classes
from methods.training import kl_loss

VARIANTS = list(method_classes()["mpcl"].variants)


# ----------------------------------------------------------------------------- Hopfield (§0)
@pytest.mark.parametrize("beta", [0.1, 1.0, 8.0])
def test_static_update_does_not_increase_energy(beta):
    gen = torch.Generator().manual_seed(0)
    stored = torch.randn(7, 5, generator=gen, dtype=torch.float64)
    xi = 2 * torch.randn(20, 5, generator=gen, dtype=torch.float64)
    updated = static_hopfield(xi, stored, beta)
    # the update is ξ ← Yᵀ softmax(β Y ξ), written out
    expected = torch.softmax(beta * xi @ stored.T, dim=-1) @ stored
    torch.testing.assert_close(updated, expected)
    before, after = hopfield_energy(xi, stored, beta), hopfield_energy(updated, stored, beta)
    assert torch.all(after <= before + 1e-12)
    assert torch.any(after < before - 1e-6)


def test_operator_equals_softmax_attention_per_scale():
    torch.manual_seed(0)
    betas = (0.2, 1.0, 3.0)
    op = Hopfield(6, 5, 4, 3, betas=betas).double()
    r, y = torch.randn(2, 7, 6, dtype=torch.float64), torch.randn(2, 9, 5, dtype=torch.float64)
    out = op(r, y)
    assert out.shape == (2, 7, len(betas) * 3)
    wq, wk = op.q.weight.T, op.k.weight.T  # (d_state, S·d_key), (d_stored, S·d_key)
    for s, beta in enumerate(betas):
        cols = slice(4 * s, 4 * (s + 1))
        q, k = r @ wq[:, cols], y @ wk[:, cols]
        attention = torch.softmax(beta * q @ k.transpose(1, 2), dim=-1)
        torch.testing.assert_close(out[..., 3 * s: 3 * (s + 1)], attention @ (k @ op.v[s]))


def test_unbatched_slots_are_shared_by_the_batch():
    torch.manual_seed(0)
    op = Hopfield(4, 4, 4, 4).double()
    slots, y = torch.randn(3, 4, dtype=torch.float64), torch.randn(2, 5, 4, dtype=torch.float64)
    torch.testing.assert_close(op(slots, y), op(slots.expand(2, 3, 4), y))


# ----------------------------------------------------------------------------- PCL (§5)
def test_info_loob_hand_computed_3x3():
    x = torch.eye(3, dtype=torch.float64)
    y = torch.tensor([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    tau = 0.5
    # logits[i, j] = x_i·y_j / τ = y[j, i] / τ; the positive (j = i) is left out of the log-sum-exp
    rows = [-2.0 + math.log(math.exp(1.2) + math.exp(0.0)),
            -1.6 + math.log(2.0),
            -2.0 + math.log(2.0)]
    assert float(info_loob(x, y, tau)) == pytest.approx(tau * sum(rows) / 3, abs=1e-12)
    # keeping the positive in the denominator (InfoNCE-style) would give another value
    logits = (x @ y.T / tau).numpy()
    with_positive = tau * np.mean(np.log(np.exp(logits).sum(1)) - np.diag(logits))
    assert float(info_loob(x, y, tau)) != pytest.approx(with_positive, abs=1e-3)


def test_semloob_pairs_retrievals_from_the_same_memory():
    gen = torch.Generator().manual_seed(1)
    u_p = torch.nn.functional.normalize(torch.randn(6, 4, generator=gen, dtype=torch.float64), dim=-1)
    u_b = torch.nn.functional.normalize(torch.randn(6, 4, generator=gen, dtype=torch.float64), dim=-1)
    beta, tau = 3.0, 0.3

    def retrieve(state, stored):  # N(softmax(β state storedᵀ) stored)
        return torch.nn.functional.normalize(torch.softmax(beta * state @ stored.T, -1) @ stored, dim=-1)

    u_pp, u_bp, u_pb, u_bb = semloob_retrievals(u_p, u_b, beta)
    for got, want in zip((u_pp, u_bp, u_pb, u_bb), (retrieve(u_p, u_p), retrieve(u_b, u_p),
                                                    retrieve(u_p, u_b), retrieve(u_b, u_b))):
        torch.testing.assert_close(got, want)
    expected = info_loob(u_pp, u_bp, tau) + info_loob(u_bb, u_pb, tau)
    torch.testing.assert_close(semloob(u_p, u_b, beta, tau), expected)
    crossed = info_loob(u_pp, u_pb, tau) + info_loob(u_bb, u_bp, tau)
    assert not torch.isclose(expected, crossed)


# ----------------------------------------------------------------------------- PRD (§4)
def test_prd_teacher_rows_gradient_and_zero_loss():
    memory = (3 * torch.eye(4, dtype=torch.float64)).requires_grad_()
    teacher = relation_matrix(memory, tau=0.5)
    torch.testing.assert_close(teacher.sum(-1), torch.ones(4, dtype=torch.float64))
    # student equal to the teacher row of its own dominant prototype -> zero loss
    student = teacher[2].detach().expand(5, 4).clone()
    assert float(prd_loss(student, student, memory, 0.5)) == pytest.approx(0.0, abs=1e-12)
    # the teacher side carries no gradient; the students do
    alpha_p = torch.softmax(torch.randn(5, 4, dtype=torch.float64), -1).requires_grad_()
    alpha_b = torch.softmax(torch.randn(5, 4, dtype=torch.float64), -1).requires_grad_()
    loss = prd_loss(alpha_p, alpha_b, memory, 0.5)
    assert float(loss) > 0
    loss.backward()
    assert memory.grad is None
    assert alpha_p.grad.abs().sum() > 0 and alpha_b.grad.abs().sum() > 0


# ----------------------------------------------------------------------------- HSC (§6)
def test_slot_schedule_shrinks_from_k_to_c():
    assert slot_schedule(100, 10, 3) == (100, 32, 10)
    assert slot_schedule(100, 10, 1) == (10,)
    assert slot_schedule(64, 4, 2) == (64, 4)


def test_hsc_outputs_c_slots_and_starts_from_memory():
    torch.manual_seed(0)
    memory = torch.randn(12, 8)
    hsc = HSC((12, 6, 3), d=8, n_heads=2, beta=None, memory=memory)
    torch.testing.assert_close(hsc.blocks[0].slots.detach(), memory)
    assert hsc(torch.randn(5, 20, 8)).shape == (5, 3, 8)


def test_network_first_slots_are_the_memory_bank():
    shapes = {"eeg": (18, 5), "gsr": (28,), "video": (30,)}
    roles = Roles.from_roles({"eeg": "primary", "gsr": "auxiliary", "video": "behavioral"})
    net = MPCLNetwork(shapes, roles, 10, MPCLConfig(d=16, n_prototypes=20, n_heads=2))
    torch.testing.assert_close(net.head.blocks[0].slots, net.memory.M)
    assert [b.slots.shape[0] for b in net.head.blocks] == [20, 14, 10]


# ----------------------------------------------------------------------------- end to end
def _one_epoch(data, variant="", n=96, **params):
    idx = np.random.default_rng(0).permutation(len(data))
    train, test = data.subset(idx[:n]), data.subset(idx[n:n + 40])
    m = MethodSpec("mpcl", variant).build("smoke", random_state=0, epochs=1, **params).fit(train)
    return m, check_prediction(m.predict(test), len(test), test.n_emotions)


@pytest.mark.parametrize("variant", ["", *VARIANTS])
def test_every_variant_trains_and_predicts(variant, small_data):
    _one_epoch(small_data, variant)


def test_variants_reach_the_network(small_data):
    m, _ = _one_epoch(small_data, "w/ TransEnc")
    assert type(m.network_.head).__name__ == "TransformerHead"
    m, _ = _one_epoch(small_data, "w/o MSAF")
    assert not any(isinstance(x, Hopfield) for x in m.network_.msaf.modules())


@pytest.mark.parametrize("drop", [("video",), ("gsr", "ppg"), ("eeg",), ("eeg", "video")])
def test_modality_subsets(drop, small_data):
    data = small_data
    for m in drop:
        data = data.without(m)
    m, _ = _one_epoch(data)
    net = m.network_
    assert net.roles.primary == next(k for k, r in data.roles.items() if r == "primary")
    if "video" in drop:  # no behavioural partner: PRD and PCL are off, the loss is the KL
        batch = m._to_batch(data, np.arange(8))
        out = net(batch)
        assert out[1]["alpha_b"] is None
        torch.testing.assert_close(m.loss(out, batch), kl_loss(out[0], batch.y))


def test_wesad_shaped_data(small_wesad):
    m, _ = _one_epoch(small_wesad, n=100)
    assert m.network_.roles.primary == "ecg"
    assert m.network_.encoders["acc"].n_tokens == 2 * m.network_.encoders["ecg"].n_tokens
