"""Feature-extraction throughput per modality, in seconds of signal per second of one core.

    .venv/bin/python scripts/bench_features.py [--seconds 120]

Each recipe runs on synthetic input of the real sampling rate and layout (DMER EEG 18 × 300 Hz,
GSR 4 Hz, PPG 100 Hz, 640 × 480 video at 30 fps; WESAD chest ECG/EMG 700 Hz, wrist BVP 64 Hz,
EDA 4 Hz, ACC 32 Hz) with BLAS and OpenCV limited to one thread. WESAD windows are 60 s every 10 s (the
loaders' default shift); throughput scales with the shift. The target is >= 100× real time.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datasets.features import eeg, physio, video  # noqa: E402
from datasets.features import wesad as fw  # noqa: E402


def _timed(fn) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def cases(seconds: float, shift: float) -> dict:
    import neurokit2 as nk

    rng = np.random.default_rng(0)
    centres = np.arange(fw.WINDOW_S / 2, seconds - fw.WINDOW_S / 2 + 1e-9, shift)
    eeg_x = 1e-5 * rng.standard_normal((18, int(seconds * 300)))
    ecg = nk.ecg_simulate(duration=seconds, sampling_rate=700, heart_rate=70, method="simple", random_state=0)
    bvp = nk.ppg_simulate(duration=seconds, sampling_rate=64, heart_rate=70, random_state=0)
    eda = nk.eda_simulate(duration=seconds, sampling_rate=4, scr_number=int(seconds // 20), random_state=0)
    frames = rng.integers(0, 256, (60, 480, 640), dtype=np.uint8)  # 2 s of video
    return {
        "dmer eeg (18 ch, filter + DE)": (seconds, lambda: eeg.differential_entropy(eeg.preprocess(eeg_x, 300), 300)),
        "dmer gsr 28": (seconds, lambda: physio.gsr_features(rng.random(int(seconds * 4)))),
        "dmer ppg 27": (seconds, lambda: physio.ppg_features(rng.random(int(seconds * 100)))),
        "dmer video LBP-TOP 640x480": (2.0, lambda: video.video_features(frames)),
        "dmer video LBP-TOP 640x480, downscale 2 (not official)": (2.0, lambda: video.video_features(frames, downscale=2)),
        "dmer video LBP-TOP 640x480, downscale 4 (not official)": (2.0, lambda: video.video_features(frames, downscale=4)),
        "wesad ecg 73 (700 Hz)": (seconds, lambda: fw.heart_features(ecg, 700, centres, kind="ecg")),
        "wesad-e4 bvp 73 (64 Hz)": (seconds, lambda: fw.heart_features(bvp, 64, centres, kind="ppg")),
        "wesad eda 4 (4 Hz)": (seconds, lambda: fw.eda_features(eda, 4, centres)),
        "wesad emg 14 (700 Hz)": (seconds, lambda: fw.emg_features(rng.standard_normal(int(seconds * 700)), 700, centres)),
        "wesad acc 12 (32 Hz)": (seconds, lambda: fw.acc_features(rng.standard_normal((int(seconds * 32), 3)), 32, centres)),
        "wesad temp 6 (4 Hz)": (seconds, lambda: fw.temp_features(rng.random(int(seconds * 4)), 4, centres)),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=int, default=120, help="seconds of signal per modality")
    p.add_argument("--shift", type=float, default=10.0, help="WESAD window shift (s)")
    args = p.parse_args(argv)
    import cv2

    cv2.setNumThreads(1)  # one-core figures for the OpenCV-based LBP-TOP too
    print(f"| modality | signal s | CPU s | × real time |\n|---|---|---|---|")
    with threadpool_limits(1):
        for name, (secs, fn) in cases(args.seconds, args.shift).items():
            cpu = _timed(fn)
            print(f"| {name} | {secs:g} | {cpu:.3f} | {secs / max(cpu, 1e-9):.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
