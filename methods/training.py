"""The shared torch training loop every deep method uses (MAET, CARAT, EmotionDict, HeLo,
TiCAL, MPCL): seeding, device choice, per-modality input scaling, mini-batches, Adam with an
optional schedule, early stopping on the fold's inner validation split (never the test part),
epochs from the preset, and a progress bar.

A deep method subclasses :class:`TorchMethod` and defines only its network (``build_network``)
and, if it is not plain KL(d ‖ p̂), its loss (``loss``). Per-method tricks stay in the method.
"""
from __future__ import annotations

import copy
import random
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils.validation import check_is_fitted

from benchmark.progress import progress
from datasets.base import FeatureSet

from .base import BaseMethod


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
    """One mini-batch: ``x`` (modality -> tensor), ``y`` (B, C), ``subject`` (B,) codes,
    ``progress`` (fraction of training done, for schedules such as gradient reversal)."""

    __getattr__ = dict.__getitem__


class TorchMethod(BaseMethod):
    """Base of the deep methods. Subclasses list every hyper-parameter in ``__init__``
    (scikit-learn convention), including the loop's: ``epochs``, ``batch_size``, ``lr``,
    ``weight_decay``, ``patience``, ``device``, ``random_state``.

    Subclasses implement :meth:`build_network` and may override :meth:`loss`,
    :meth:`make_optimizer` and :meth:`make_scheduler`.
    """

    presets: ClassVar[dict[str, dict]] = {
        "smoke": {"epochs": 15, "patience": 5},
        "quick": {"epochs": 60, "patience": 10},
        "paper": {"epochs": 400, "patience": 0},
    }

    # ----------------------------------------------------------------- to implement
    def build_network(self, train: FeatureSet) -> torch.nn.Module:
        """The network; ``forward(batch)`` returns logits (B, C) or a tuple whose first
        item is the logits (the rest is passed to :meth:`loss`)."""
        raise NotImplementedError

    def loss(self, output, batch: Batch) -> torch.Tensor:
        """Training loss from the network output; default KL(d ‖ p̂)."""
        logits = output[0] if isinstance(output, tuple) else output
        return kl_loss(logits, batch.y)

    def make_optimizer(self, params) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)

    def make_scheduler(self, optimizer):
        return None

    # ----------------------------------------------------------------- the loop
    def _to_batch(self, data: FeatureSet, idx: np.ndarray | None, progress_frac: float = 0.0) -> Batch:
        idx = np.arange(len(data)) if idx is None else idx
        dev = self.device_
        x = {}
        for m, arr in data.modalities.items():
            mean, std = self.scaling_[m]
            x[m] = torch.as_tensor((arr[idx] - mean) / std, dtype=torch.float32, device=dev)
        subj = data.meta["subject"].to_numpy()[idx]
        codes = np.array([self.subject_codes_.get(s, -1) for s in subj])
        return Batch(x=x, y=torch.tensor(data.labels[idx], dtype=torch.float32, device=dev),
                     subject=torch.as_tensor(codes, dtype=torch.long, device=dev),
                     progress=progress_frac)

    def fit(self, train: FeatureSet, val: FeatureSet | None = None) -> "TorchMethod":
        seed = int(np.random.default_rng(self.random_state).integers(2**31))
        seed_everything(seed)
        self.device_ = pick_device(self.device)
        self.modalities_ = tuple(train.modalities)
        self.roles_ = dict(train.roles)
        self.scaling_ = {m: (a.mean(axis=0), a.std(axis=0) + 1e-6) for m, a in train.modalities.items()}
        self.subject_codes_ = {s: i for i, s in enumerate(np.unique(train.subjects))}
        self.network_ = self.build_network(train).to(self.device_)
        opt = self.make_optimizer(self.network_.parameters())
        sched = self.make_scheduler(opt)
        gen = torch.Generator().manual_seed(seed)
        n, bs = len(train), min(self.batch_size, len(train))
        best, best_state, bad = np.inf, None, 0
        self.history_ = []
        for epoch in progress(range(self.epochs), desc=self.name):
            self.network_.train()
            perm = torch.randperm(n, generator=gen).numpy()
            total = 0.0
            for start in range(0, n - bs + 1 if n >= bs else 1, bs):  # drop the ragged tail
                batch = self._to_batch(train, perm[start:start + bs], epoch / max(self.epochs, 1))
                opt.zero_grad()
                loss = self.loss(self.network_(batch), batch)
                loss.backward()
                opt.step()
                total += float(loss.detach())
            if sched is not None:
                sched.step()
            record = {"epoch": epoch, "train_loss": total}
            if val is not None and len(val) and self.patience:
                record["val_kl"] = v = self._val_kl(val)
                if v < best - 1e-6:
                    best, bad = v, 0
                    best_state = copy.deepcopy(self.network_.state_dict())
                else:
                    bad += 1
            self.history_.append(record)
            if self.patience and bad >= self.patience:
                break
        if best_state is not None:
            self.network_.load_state_dict(best_state)
        self.network_.eval()
        return self

    def _logits(self, data: FeatureSet) -> torch.Tensor:
        self.network_.eval()
        outs = []
        with torch.no_grad():
            for start in range(0, len(data), 1024):
                batch = self._to_batch(data, np.arange(start, min(start + 1024, len(data))))
                out = self.network_(batch)
                outs.append(out[0] if isinstance(out, tuple) else out)
        return torch.cat(outs)

    def _val_kl(self, val: FeatureSet) -> float:
        logits = self._logits(val)
        return float(kl_loss(logits, torch.tensor(val.labels, dtype=torch.float32, device=logits.device)))

    def predict(self, data: FeatureSet) -> np.ndarray:
        check_is_fitted(self, "network_")
        if tuple(data.modalities) != self.modalities_:
            raise ValueError(f"fitted on modalities {self.modalities_}, got {tuple(data.modalities)}")
        p = torch.softmax(self._logits(data).double(), dim=-1).cpu().numpy()
        return p / p.sum(axis=1, keepdims=True)

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.network_.parameters() if p.requires_grad)
