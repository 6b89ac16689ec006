"""Running the paper's experiments (declared in `protocols.experiments`).

Each part of an experiment is one ordinary run into its own sub-directory of the experiment's
``--out``; ``experiment.json`` lists the parts, so ``report`` renders every one. Every part
inherits the base run's ``references`` switch (on from the command line), so each table also
shows the prior and the stimulus oracle, run once on every modality.
"""
from __future__ import annotations

from dataclasses import replace

from methods.registry import MethodSpec
from protocols import check_data, options_for, resolve_options
from protocols.experiments import build

from .rundir import RunDir
from .runner import load_data, run


def run_experiment(name: str, base, methods: list[MethodSpec] | None = None,
                   mpcl_params: dict | None = None, rundir: RunDir | None = None):
    """Run every part of experiment ``name`` with the settings of ``base`` (a RunSpec);
    returns [(part, RunOutcome)]. Writes ``experiment.json`` listing the parts. Each part gets
    the protocol options its splitter takes (``--group`` reaches the subject-dependent parts).

    ``mpcl_params`` overrides hyper-parameters of every MPCL column (e.g. a shorter budget).
    """
    rundir = rundir or RunDir(base.resolved_out())
    data, _ = load_data(base)
    exp = build(name, list(data.modalities), methods, preset=base.preset)
    for part in exp.parts:  # every part's protocol fits the data before experiment.json is written
        check_data(part.protocol, data.meta, base.dataset,
                   resolve_options(part.protocol, options_for(part.protocol, base.protocol_options)),
                   data.info.get("structure"))
    rundir.write_experiment({"experiment": name, "doc": exp.doc, "parts": [p.name for p in exp.parts],
                             "sweeps": {p.name: p.sweep for p in exp.parts if p.sweep}})
    outcomes = []
    for part in exp.parts:
        # a test budget for MPCL keeps the column titles of the paper's tables
        specs = [replace(m, params={**m.params, **(mpcl_params or {})}, title=m.title or m.display)
                 if m.name == "mpcl" and mpcl_params else m for m in part.methods]
        cfg = replace(base, protocol=part.protocol, methods=specs, drops=part.drops,
                      protocol_options=options_for(part.protocol, base.protocol_options),
                      out=rundir.part(part.name).root)
        outcomes.append((part, run(cfg, rundir.part(part.name))))
    return outcomes


def run_any(spec, rundir: RunDir, methods_given: bool):
    """Run ``spec`` into ``rundir``: every part of an experiment (with the listed methods when
    ``methods_given``, else the experiment's own), or one plain run; returns the outcomes. The
    one place the command line and the Python API dispatch a run."""
    from protocols.experiments import EXPERIMENTS

    if spec.protocol in EXPERIMENTS:
        explicit = list(spec.methods) if methods_given else None
        return [o for _, o in run_experiment(spec.protocol, spec, explicit, rundir=rundir)]
    return [run(spec, rundir)]

