"""The paper's experiments (Tables I-VII, the hyper-parameter study), declared.

An experiment is a list of *parts*; each part is one ordinary run (one splitter, a list of
methods, optional modality drops). This module only says what the parts are;
`benchmark.experiments` runs them, each into its own sub-directory, so every part resumes,
caches and reports like any run. ``python -m benchmark run --protocol ablation-modules`` runs
both protocols of Tables III/IV in one invocation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from methods.registry import MethodSpec, method_classes

SPLITS = ("subject-dependent", "loso")

# MSAF scale sets of the hyper-parameter study, as factors of 1/sqrt(d) (docs/methods/mpcl.md, MSAF).
SCALE_SETS = {"1": (1.0,), "0.25,1": (0.25, 1.0), "0.25,1,4": (0.25, 1.0, 4.0),
              "1/16..16": (0.0625, 0.25, 1.0, 4.0, 16.0)}
PROTOTYPES = (25, 50, 100, 200)
TEMPERATURES = (0.1, 0.25, 0.5, 1.0, 2.0)
BLOCKS = (1, 2, 3, 4)


@dataclass
class Part:
    """One run of an experiment."""

    name: str
    protocol: str
    methods: list[MethodSpec]
    drops: tuple[tuple[str, ...], ...] = ((),)
    sweep: dict = field(default_factory=dict)  # for curves: column title -> (parameter, value)


@dataclass
class Experiment:
    name: str
    doc: str
    parts: list[Part]


def _mpcl(variants: list[str]) -> list[MethodSpec]:
    return [MethodSpec("mpcl", v) for v in variants] + [MethodSpec("mpcl")]


def _sweep(preset: str) -> tuple[list[MethodSpec], dict]:
    """MPCL columns of the hyper-parameter study; scale sets are taken relative to 1/√d of
    the preset's width d."""
    d = MethodSpec("mpcl").build(preset).d
    specs, sweep = [], {}
    for label, factors in SCALE_SETS.items():
        title = f"MPCL scales={{{label}}}/√d"
        specs.append(MethodSpec("mpcl", params={"scales": [f / d ** 0.5 for f in factors]}, title=title))
        sweep[title] = ("MSAF scales", len(factors))
    for k in PROTOTYPES:
        specs.append(MethodSpec("mpcl", params={"n_prototypes": k, "hsc_slots": None}, title=f"MPCL K={k}"))
        sweep[f"MPCL K={k}"] = ("prototypes K", k)
    for t in TEMPERATURES:
        specs.append(MethodSpec("mpcl", params={"tau_prd": t}, title=f"MPCL τ={t}"))
        sweep[f"MPCL τ={t}"] = ("temperature τ", t)
    for n in BLOCKS:
        specs.append(MethodSpec("mpcl", params={"n_blocks": n, "hsc_slots": None}, title=f"MPCL L={n}"))
        sweep[f"MPCL L={n}"] = ("compression blocks L", n)
    return specs, sweep


def modality_drops(modalities: list[str]) -> tuple[tuple[str, ...], ...]:
    """Each single modality dropped, then the full model (Tables V/VI)."""
    return tuple((m,) for m in modalities) + ((),)


def parts_protocols(name: str) -> tuple[str, ...]:
    """The protocols of experiment ``name``'s parts (its options are routed to these)."""
    return ("subject-dependent",) if name == "hyperparams" else SPLITS


def build(name: str, modalities: list[str], methods: list[MethodSpec] | None = None,
          protocols: tuple[str, ...] | None = None, preset: str = "quick") -> Experiment:
    """The named experiment for a dataset with these modalities; ``methods`` overrides the
    method list of ``main`` (default: every registered method, the prior as the floor)."""
    every = methods or [MethodSpec(n) for n in method_classes()]
    protocols = protocols or parts_protocols(name)
    if name == "main":
        return Experiment(name, "Tables I/II: every method", [Part(p, p, every) for p in protocols])
    if name == "ablation-modules":
        specs = _mpcl(["w/o MSAF", "w/o PRD", "w/o PCL", "w/o HSC"])
        return Experiment(name, "Tables III/IV: MPCL modules", [Part(p, p, specs) for p in protocols])
    if name == "ablation-modalities":
        drops = modality_drops(modalities)
        return Experiment(name, "Tables V/VI: MPCL without each modality",
                          [Part(p, p, [MethodSpec("mpcl")], drops) for p in protocols])
    if name == "alternatives":
        specs = _mpcl(["w/ CrossAttn", "w/ Feat-Co", "w/ InfoNCE", "w/ TransEnc"])
        return Experiment(name, "Table VII: alternative designs", [Part(p, p, specs) for p in protocols])
    if name == "hyperparams":
        specs, sweep = _sweep(preset)
        return Experiment(name, "Table VIII, Figs. 6-8: MSAF scales, K, τ, L",
                          [Part(p, p, specs, sweep=sweep) for p in protocols])
    raise KeyError(f"unknown experiment {name!r}; valid: {', '.join(EXPERIMENTS)}")


EXPERIMENTS = {
    "main": "Tables I (subject-dependent) and II (LOSO): every registered method",
    "ablation-modules": "Tables III/IV: MPCL w/o MSAF, PRD, PCL, HSC, and full; both protocols",
    "ablation-modalities": "Tables V/VI: MPCL without each modality, and full; both protocols",
    "alternatives": "Table VII: CrossAttn, Feat-Co, InfoNCE, TransEnc, and full; both protocols",
    "hyperparams": "Table VIII, Figs. 6-8: sweeps of MSAF scales, K, τ, L (subject-dependent)",
}
