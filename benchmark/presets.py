"""Run presets. A preset chooses the synthetic data size and whether deterministic GPU
algorithms are on (here), each method's training budget (the method's own ``presets`` table,
``BaseMethod.presets``; the deep methods' shared budget in ``methods/training.py``) and the
tuning budget (`benchmark.tuning.budget`).

- ``smoke``: seconds, for CI and the conformance tests.
- ``quick``: the default; the whole default benchmark, every trial tested, in ~2.5 minutes on a 2-core CPU.
- ``paper``: the paper's budget (400 epochs, batch 128, lr 1e-3) — meant for a GPU.
"""
PRESETS = ("smoke", "quick", "paper")

# Dataset options a preset applies to the synthetic datasets (real data is never resized).
# quick: 10 subjects of 20 clips (5 positive, 5 negative, 10 mixed: the default's 1:1:2) instead
# of 16 of 32, so that the default run with every trial tested (5 folds per subject)
# fits in ~2.5 minutes on two cores (docs/speed.md); 10 subjects are the blocks the paired tests
# need to rank 13 methods. A fold then trains on ~115 windows instead of ~185, which still
# gives the batch-32 methods several steps per epoch. paper keeps the generator's defaults.
SYNTHETIC_OPTIONS = {
    "smoke": {"synthetic": {"n_subjects": 4, "n_windows": 4},
              "synthetic-wesad": {"n_subjects": 4, "n_windows": 8}},
    "quick": {"synthetic": {"n_subjects": 10, "n_positive": 5, "n_negative": 5, "n_mixed": 10}},
    "paper": {},
}


def dataset_options(preset: str, dataset: str) -> dict:
    if preset not in PRESETS:
        raise KeyError(f"unknown preset {preset!r}; valid: {', '.join(PRESETS)}")
    return dict(SYNTHETIC_OPTIONS[preset].get(dataset, {}))


# Deterministic algorithms (torch.use_deterministic_algorithms, cuDNN autotuning off) per
# preset unless ``--deterministic``/``--no-deterministic`` says otherwise: on for ``paper``,
# the runs a table cites, which are meant for a GPU; on CPU they change nothing (every CPU
# kernel the suite uses is deterministic), so quick and smoke runs skip the check.
DETERMINISTIC = {"smoke": False, "quick": False, "paper": True}
