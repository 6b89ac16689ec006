"""The shared torch training loop every deep method uses (MAET, CARAT, EmotionDict, HeLo,
TiCAL, MPCL): seeding, device choice, per-modality input scaling, mini-batches, Adam with an
optional schedule, early stopping on the fold's inner validation split (never the test part),
epochs from the preset, and a progress bar.

A deep method subclasses `TorchMethod` and defines only its network (``build_network``)
and, if it is not plain KL(d ‖ p̂), its loss (``loss``). Per-method tricks stay in the method.
"""
from __future__ import annotations

import random
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils.validation import check_is_fitted

from datasets.base import FeatureSet
from core.progress import progress

from .base import BaseMethod
from core.params import Choice, Int, Real


# The shared training budget of the deep methods per preset, in this one place: the presets
# below, and (its quick entry) every deep method's constructor defaults, so a method built in a
# notebook trains with the budget the default run gives it (tests/test_budgets.py).
BUDGETS: dict[str, dict] = {
    "smoke": {"epochs": 15, "patience": 5},
    "quick": {"epochs": 40, "patience": 5},
    "paper": {"epochs": 400, "patience": 0},
}
EPOCHS, PATIENCE = BUDGETS["quick"]["epochs"], BUDGETS["quick"]["patience"]


def pick_device(device: str = "auto") -> torch.device:
    """CUDA when present (``auto``), else CPU; an explicit name is taken as is."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) from one integer."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def kl_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of KL(d ‖ softmax(logits)) — the task loss of every deep method."""
    return F.kl_div(F.log_softmax(logits, dim=-1), target, reduction="batchmean")


class Batch(dict):
    """One mini-batch: ``x`` (modality -> tensor), ``y`` (B, C; None at prediction, which
    never receives labels), ``subject`` (B,) codes,
    ``progress`` (fraction of training done, for schedules such as gradient reversal)."""

    __getattr__ = dict.__getitem__


class TorchMethod(BaseMethod):
    """Base of the deep methods. Subclasses list every hyper-parameter in ``__init__``
    (scikit-learn convention), including the loop's: ``epochs``, ``batch_size``, ``lr``,
    ``weight_decay``, ``patience``, ``device``, ``random_state``.

    Subclasses implement `build_network` and may override `loss`,
    `make_optimizer` and `make_scheduler`.

    Validation: with ``patience > 0`` the loop early-stops on the validation part and keeps the
    best epoch's weights, fitted on the training part alone (``val_use = "held-out"``). It is
    not refitted on training + validation: the stopping epoch was chosen for this training set,
    and a second training for that many epochs on more data would double the cost of every deep
    method for a gain the stopping point does not promise. With ``patience=0`` (the ``paper``
    preset of most deep methods) the validation part is not used (`needs_validation`), so
    the runner trains on the training and validation parts merged.
    """

    # The training budget of every deep method, per preset, in this one place (docs/concepts/presets.md: equal
    # budgets). ``patience`` 0 trains all epochs; otherwise the loop stops after ``patience``
    # epochs without a better inner-validation KL and restores the best epoch's weights.
    # quick (our choice): 40 epochs, patience 5 keeps every method on wesad-e4 LOSO within
    # ~10 minutes on two CPU cores; on that data the validation KL bottoms out within ~12
    # epochs for every method. smoke: 15 epochs, patience 5 (every deep method beats the
    # prior on the conformance data with it; 12 epochs without early stopping left
    # EmotionDict at lr 3e-3 worse than the prior). paper: the MPCL paper's 400 epochs
    # without early stopping.
    presets: ClassVar[dict[str, dict]] = {p: dict(b) for p, b in BUDGETS.items()}
    # The loop's own parameters, declared once for every deep method (core.params).
    constraints: ClassVar[dict] = {
        "epochs": Int(low=1), "batch_size": Int(low=1), "lr": Real(low=0, low_open=True),
        "weight_decay": Real(low=0), "patience": Int(low=0), "device": Choice("auto", "cpu", "cuda"),
    }
    BUDGET_KEYS: ClassVar[tuple[str, ...]] = ("epochs", "patience")
    shared_budget: ClassVar[bool] = True
    """Whether the equal-budget rule (tests/test_budgets.py) binds this method; False only for
    a method that borrows the loop without being one of the deep methods compared (CAD)."""
    dtype: ClassVar[torch.dtype] = torch.float32
    """Floating type of the inputs, targets and network, in which the network is also built and
    initialised. float32 for the deep methods; a method whose optimiser takes decisions on the
    sign of a gradient (SA-CPNN's Rprop) uses float64, where float32 rounding would make those
    decisions depend on the math kernel (docs/reproducibility.md). torch's vectorised ``uniform_``/``normal_``
    differ from its scalar ones in the last bit, so a float32 initialisation cast to float64
    would start the kernels ~1e-7 apart."""
    relative_cost: ClassVar[float] = 1.0
    """Estimated CPU seconds of one quick-preset job on ~200 training windows (one thread),
    measured with tests/perf/profile_fold.py; the runner starts the costliest jobs first so
    that no worker idles at the end of a run (benchmark.runner.longest_first). It orders jobs
    and nothing else: no result depends on it."""
    budget_exceptions: ClassVar[dict[str, str]] = {}
    """Preset -> why this method's paper prescribes another budget there; only in these presets
    may a subclass's ``presets`` set ``BUDGET_KEYS``."""

    def __init_subclass__(cls, **kwargs) -> None:
        """A subclass's ``presets`` are merged over these, so it inherits the shared budget and
        lists only its own entries (widths, learning rates, declared budget exceptions)."""
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("presets")
        if own is not None:
            cls.presets = {p: {**TorchMethod.presets.get(p, {}), **own.get(p, {})}
                           for p in {**TorchMethod.presets, **own}}

    # ----------------------------------------------------------------- to implement
    def build_network(self, train: FeatureSet) -> torch.nn.Module:
        """The network; ``forward(batch)`` returns logits (B, C) or a tuple whose first
        item is the logits (the rest is passed to `loss`)."""
        raise NotImplementedError

    def loss(self, output, batch: Batch) -> torch.Tensor:
        """Training loss from the network output; default KL(d ‖ p̂)."""
        logits = output[0] if isinstance(output, tuple) else output
        return kl_loss(logits, batch.y)

    def make_optimizer(self, params) -> torch.optim.Optimizer:
        """Adam with the fused kernel: the same update as the per-parameter loop up to float
        rounding; that loop (a few small ops per tensor) was about a sixth of a CARAT
        training step on CPU."""
        return torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay, fused=True)

    def make_scheduler(self, optimizer):
        return None

    # ----------------------------------------------------------------- the loop
    def _tensors(self, data: FeatureSet) -> dict:
        """``data`` scaled once with the training statistics, as ``dtype`` tensors on the device:
        ``x`` (modality -> tensor), ``y``, ``subject`` codes (-1 for subjects not trained on).
        Batches are index views of these, so nothing is rescaled or converted per batch."""
        dev = self.device_
        x = {m: torch.as_tensor((arr - self.scaling_[m][0]) / self.scaling_[m][1],
                                dtype=self.dtype, device=dev)
             for m, arr in data.modalities.items()}
        subj = data.meta["subject"].to_numpy()
        pos = np.searchsorted(self.subjects_, subj).clip(max=len(self.subjects_) - 1)
        codes = np.where(self.subjects_[pos] == subj, pos, -1)
        y = None if data.labels is None else torch.tensor(data.labels, dtype=self.dtype, device=dev)
        return {"x": x, "y": y,
                "subject": torch.as_tensor(codes, dtype=torch.long, device=dev)}

    @staticmethod
    def _batch(tensors: dict, idx, progress_frac: float = 0.0) -> Batch:
        """The samples at ``idx`` (index tensor, or a slice for contiguous prediction chunks)."""
        y = tensors["y"]
        return Batch(x={m: t[idx] for m, t in tensors["x"].items()}, y=None if y is None else y[idx],
                     subject=tensors["subject"][idx], progress=progress_frac)

    def _to_batch(self, data: FeatureSet, idx: np.ndarray | None, progress_frac: float = 0.0) -> Batch:
        """One batch of ``data`` (all of it when ``idx`` is None), for callers outside the loop."""
        idx = slice(None) if idx is None else torch.as_tensor(np.asarray(idx), dtype=torch.long)
        return self._batch(self._tensors(data), idx, progress_frac)

    def fit(self, train: FeatureSet, val: FeatureSet | None = None) -> "TorchMethod":
        seed = int(np.random.default_rng(self.random_state).integers(2**31))
        seed_everything(seed)
        self.device_ = pick_device(self.device)
        self.modalities_ = tuple(train.modalities)
        self.roles_ = dict(train.roles)
        self.scaling_ = {m: (a.mean(axis=0), a.std(axis=0) + 1e-6) for m, a in train.modalities.items()}
        self.subjects_ = np.unique(train.subjects)
        default_dtype = torch.get_default_dtype()
        torch.set_default_dtype(self.dtype)  # initialise the weights in ``dtype``, not in float32
        try:
            self.network_ = self.build_network(train).to(self.device_, self.dtype)
        finally:
            torch.set_default_dtype(default_dtype)
        opt = self.make_optimizer(self.network_.parameters())
        sched = self.make_scheduler(opt)
        gen = torch.Generator().manual_seed(seed)
        n, bs = len(train), min(self.batch_size, len(train))
        data = self._tensors(train)
        val_data = self._tensors(val) if val is not None and len(val) and self.patience else None
        best, best_state, bad, n_steps = np.inf, None, 0, 0
        self.history_ = []
        for epoch in progress(range(self.epochs), desc=self.name):
            self.network_.train()
            perm = torch.randperm(n, generator=gen).to(self.device_)
            losses = []
            for start in range(0, n - bs + 1 if n >= bs else 1, bs):  # drop the ragged tail
                batch = self._batch(data, perm[start:start + bs], epoch / max(self.epochs, 1))
                opt.zero_grad()
                loss = self.loss(self.network_(batch), batch)
                loss.backward()
                opt.step()
                n_steps += 1
                losses.append(loss.detach())
            # One conversion per epoch: float() per step waits for the device on a GPU.
            total = float(torch.stack(losses).double().sum()) if losses else 0.0
            if sched is not None:
                sched.step()
            record = {"epoch": epoch, "train_loss": total}
            if val_data is not None:
                record["val_kl"] = v = self._val_kl(val_data)
                if v < best - 1e-6:
                    best, bad = v, 0
                    best_state = {k: t.detach().clone() for k, t in self.network_.state_dict().items()}
                else:
                    bad += 1
            self.history_.append(record)
            if val_data is not None and bad >= self.patience:
                break
        if not n_steps:
            # Declared constraints refuse epochs < 1; this catches a subclass or data that
            # still trains nothing (e.g. an empty training part), which must never be scored.
            raise RuntimeError(f"{self.name}: training ran no optimisation step "
                               f"(epochs={self.epochs}, {n} training samples)")
        if best_state is not None:
            self.network_.load_state_dict(best_state)
        self.network_.eval()
        return self

    def _logits(self, tensors: dict) -> torch.Tensor:
        """Eval-mode logits of ``tensors`` in chunks of 1024. ``inference_mode`` rather than
        ``no_grad``: no version counters or view tracking on the outputs, which nothing
        differentiates (the per-epoch validation KL and ``predict``)."""
        self.network_.eval()
        n, outs = len(tensors["subject"]), []
        with torch.inference_mode():
            for start in range(0, n, 1024):
                out = self.network_(self._batch(tensors, slice(start, min(start + 1024, n))))
                outs.append(out[0] if isinstance(out, tuple) else out)
        return torch.cat(outs)

    def _val_kl(self, val: dict) -> float:
        return float(kl_loss(self._logits(val), val["y"]))

    def needs_validation(self) -> bool:
        """The validation part is used for early stopping only, i.e. when ``patience > 0``."""
        return bool(self.patience)

    def predict(self, data: FeatureSet) -> np.ndarray:
        check_is_fitted(self, "network_")
        if tuple(data.modalities) != self.modalities_:
            raise ValueError(f"fitted on modalities {self.modalities_}, got {tuple(data.modalities)}")
        p = torch.softmax(self._logits(self._tensors(data)).double(), dim=-1).cpu().numpy()
        return p / p.sum(axis=1, keepdims=True)

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.network_.parameters() if p.requires_grad)
