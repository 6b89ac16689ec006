"""Every feature recipe (datasets/features/*), in real-time factor per core.

Each recipe runs on synthetic input at the real sampling rate and layout (DMER EEG 18 × 300 Hz,
GSR 4 Hz, PPG 100 Hz, 640 × 480 video at 30 fps; WESAD chest ECG/EMG 700 Hz, wrist BVP 64 Hz,
EDA 4 Hz, ACC 32 Hz, TEMP 4 Hz; WESAD windows 60 s every 10 s, the loaders' default). The
benchmark time is CPU seconds of one thread; ``extra_info["signal_s"]`` is the signal it
covered, so the real-time factor is ``signal_s / median``. ``lbp-top-reference`` (the plain
numpy LBP-TOP, on a 160 × 120 segment, beside the fast one on the same segment) is the
reference the gate compares LBP-TOP with.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from datasets.features import eeg, physio, video
from datasets.features import wesad as fw

pytestmark = pytest.mark.benchmark(group="features", timer=time.process_time)
SECONDS = 120
SHIFT = 10.0


def _recipes() -> dict:
    import neurokit2 as nk

    rng = np.random.default_rng(0)
    centres = np.arange(fw.WINDOW_S / 2, SECONDS - fw.WINDOW_S / 2 + 1e-9, SHIFT)
    n = lambda fs: int(SECONDS * fs)  # noqa: E731
    eeg_x = 1e-5 * rng.standard_normal((18, n(300)))
    ecg = nk.ecg_simulate(duration=SECONDS, sampling_rate=700, heart_rate=70, method="simple", random_state=0)
    bvp = nk.ppg_simulate(duration=SECONDS, sampling_rate=64, heart_rate=70, random_state=0)
    eda = nk.eda_simulate(duration=SECONDS, sampling_rate=4, scr_number=int(SECONDS // 20), random_state=0)
    gsr, ppg, emg = rng.random(n(4)), rng.random(n(100)), rng.standard_normal(n(700))
    acc, temp = rng.standard_normal((n(32), 3)), rng.random(n(4))
    frames = rng.integers(0, 256, (60, 480, 640), dtype=np.uint8)  # 2 s at 30 fps
    small = frames[:30, :120, :160].copy()  # 1 s
    return {
        "dmer-eeg": (SECONDS, lambda: eeg.differential_entropy(eeg.preprocess(eeg_x, 300), 300)),
        "dmer-gsr": (SECONDS, lambda: physio.gsr_features(gsr)),
        "dmer-ppg": (SECONDS, lambda: physio.ppg_features(ppg)),
        "dmer-video-lbp-top": (2.0, lambda: video.video_features(frames)),
        "dmer-video-lbp-top-downscale-2": (2.0, lambda: video.video_features(frames, downscale=2)),
        "dmer-video-lbp-top-downscale-4": (2.0, lambda: video.video_features(frames, downscale=4)),
        "lbp-top-160x120": (1.0, lambda: video.lbp_top(small)),
        "lbp-top-reference-160x120": (1.0, lambda: video.lbp_top_reference(small)),
        "wesad-ecg": (SECONDS, lambda: fw.heart_features(ecg, 700, centres, kind="ecg")),
        "wesad-e4-bvp": (SECONDS, lambda: fw.heart_features(bvp, 64, centres, kind="ppg")),
        "wesad-eda": (SECONDS, lambda: fw.eda_features(eda, 4, centres)),
        "wesad-emg": (SECONDS, lambda: fw.emg_features(emg, 700, centres)),
        "wesad-acc": (SECONDS, lambda: fw.acc_features(acc, 32, centres)),
        "wesad-temp": (SECONDS, lambda: fw.temp_features(temp, 4, centres)),
    }


GATED = {"dmer-video-lbp-top", "lbp-top-160x120", "lbp-top-reference-160x120"}
NAMES = ["dmer-eeg", "dmer-gsr", "dmer-ppg", "dmer-video-lbp-top", "dmer-video-lbp-top-downscale-2",
         "dmer-video-lbp-top-downscale-4", "lbp-top-160x120", "lbp-top-reference-160x120", "wesad-ecg",
         "wesad-e4-bvp", "wesad-eda", "wesad-emg", "wesad-acc", "wesad-temp"]


@pytest.fixture(scope="module")
def recipes():
    return _recipes()


@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.perf_gate] if n in GATED else [])
                                  for n in NAMES])
def test_recipe(benchmark, name, recipes):
    signal_s, fn = recipes[name]
    benchmark.extra_info["signal_s"] = signal_s
    benchmark.pedantic(fn, rounds=7 if "video" in name or "lbp" in name else 3, warmup_rounds=1)
    benchmark.extra_info["real_time_factor"] = signal_s / benchmark.stats.stats.median
