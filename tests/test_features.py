"""Feature recipes on signals with known answers."""
from __future__ import annotations

import numpy as np
import pytest

from datasets.features import eeg, physio, video
from datasets.features import wesad as fw


def test_de_of_a_sinusoid_peaks_in_its_band():
    fs = 300
    t = np.arange(0, 8, 1 / fs)
    for band, f0 in (("theta", 6.0), ("alpha", 11.0), ("beta", 22.0), ("gamma", 40.0)):
        x = np.sin(2 * np.pi * f0 * t)[None] + 1e-6 * np.random.default_rng(0).standard_normal((1, len(t)))
        de = eeg.differential_entropy(x, fs)
        assert de.shape == (8, 1, 5)
        k = list(eeg.BANDS).index(band)
        assert (de[:, 0].argmax(axis=1) == k).all()
        assert (de[:, 0, k] - np.delete(de[:, 0], k, axis=1).max(axis=1) > 5).all()


def test_de_scales_with_amplitude():
    """DE = ½ ln(2πe P): doubling the amplitude adds ln 2 in every band."""
    fs = 300
    x = np.random.default_rng(1).standard_normal((2, 3 * fs))
    d1, d2 = eeg.differential_entropy(x, fs), eeg.differential_entropy(2 * x, fs)
    np.testing.assert_allclose(d2 - d1, np.log(2), atol=1e-9)


def test_eeg_preprocess_removes_line_noise_and_drift():
    fs = 300
    t = np.arange(0, 20, 1 / fs)
    x = 1e-5 * (np.sin(2 * np.pi * 10 * t) + np.sin(2 * np.pi * 50 * t) + 5 * t / t[-1])
    y = eeg.preprocess(x[None], fs)[0][fs * 2:-fs * 2]
    spec = np.abs(np.fft.rfft(y))
    freqs = np.fft.rfftfreq(len(y), 1 / fs)
    assert spec[np.argmin(np.abs(freqs - 50))] < 0.05 * spec[np.argmin(np.abs(freqs - 10))]
    assert abs(y.mean()) < 1e-7


def test_gsr_ppg_window_counts_and_statistics():
    gsr = np.arange(40, dtype=float)  # 10 s at 4 Hz: a ramp
    f = physio.gsr_features(gsr)
    assert f.shape == ((40 - 20) // 4 + 1, 28) == (6, 28)
    cols = physio.GSR_COLUMNS
    np.testing.assert_allclose(f[:, cols.index("mean_x")], np.arange(6) * 4 + 9.5)
    np.testing.assert_allclose(f[:, cols.index("mean_d1")], 1.0)  # slope of the ramp
    np.testing.assert_allclose(f[:, cols.index("max_ratio_x")], 1 / 20)
    np.testing.assert_allclose(f[:, cols.index("std_d2")], 0.0, atol=1e-12)
    ppg = np.sin(2 * np.pi * 1.2 * np.arange(0, 12, 0.01))
    assert physio.ppg_features(ppg).shape == (8, 27)
    assert physio.gsr_features(np.ones(10)).shape == (0, 28)  # shorter than one window


def test_heart_rate_of_simulated_ecg():
    nk = pytest.importorskip("neurokit2")
    fs = 250
    ecg = nk.ecg_simulate(duration=150, sampling_rate=fs, heart_rate=72, method="simple", random_state=3)
    f = fw.heart_features(ecg, fs, np.array([40.0, 75.0, 110.0]), kind="ecg")
    assert f.shape == (3, 73)
    np.testing.assert_allclose(f[:, 0], 72, atol=2)
    np.testing.assert_allclose(f[:, fw.HEART_COLUMNS.index("HRV_MeanNN")], 60000 / 72, rtol=0.03)


def test_acc_and_temp_features():
    fs = 32
    acc = np.zeros((fs * 20, 3))
    acc[:, 2] = 1.0  # at rest, gravity on z
    f = fw.acc_features(acc, fs, np.array([5.0, 10.0]))
    cols = fw.ACC_COLUMNS
    assert f.shape == (2, 12)
    np.testing.assert_allclose(f[:, cols.index("mean_z")], 1.0)
    np.testing.assert_allclose(f[:, cols.index("mean_3d")], 1.0)
    np.testing.assert_allclose(f[:, cols.index("abs_integral_z")], 5.0)  # 1 g for 5 s
    np.testing.assert_allclose(f[:, cols.index("std_x")], 0.0)
    temp = 30 + 0.01 * np.arange(4 * 200) / 4  # +0.01 °C/s
    g = fw.temp_features(temp, 4, np.array([100.0]))
    np.testing.assert_allclose(g[0, fw.TEMP_COLUMNS.index("slope")], 0.01, rtol=1e-9)
    with pytest.raises(ValueError, match="leaves"):
        fw.temp_features(temp, 4, np.array([10.0]))


def test_emg_features_of_a_tone():
    fs = 700
    t = np.arange(0, 70, 1 / fs)
    f = fw.emg_features(0.5 + np.sin(2 * np.pi * 35 * t), fs, np.array([35.0]))
    cols = fw.EMG_COLUMNS
    assert f.shape == (1, 14)
    assert f[0, cols.index("mean")] == pytest.approx(0.5, abs=1e-3)
    assert f[0, cols.index("freq_peak")] == pytest.approx(35, abs=1)
    assert f[0, cols.index("range")] == pytest.approx(2.0, abs=1e-3)


def test_lbp_top_of_a_constant_video():
    """Every neighbour equals the centre, so every code is 255 on all three planes."""
    f = video.video_features(np.full((65, 12, 16), 90, dtype=np.uint8))
    assert f.shape == (2, 768)
    expected = np.zeros(768)
    expected[[255, 511, 767]] = 1
    np.testing.assert_array_equal(f[0], expected)


def test_lbp_top_planes_see_their_own_motion():
    """A video that only changes over time has a constant XY plane but varied XT/YT codes."""
    rng = np.random.default_rng(0)
    frames = np.repeat(rng.integers(0, 255, (30, 1, 1)), 10, axis=1).repeat(10, axis=2)
    f = video.lbp_top(frames).reshape(3, 256)
    assert f[0, 255] == 1.0
    assert (f[1] > 0).sum() > 1 and (f[2] > 0).sum() > 1
    np.testing.assert_allclose(f.sum(axis=1), 1.0)


@pytest.mark.parametrize("shape", [(9, 3, 3), (30, 7, 9), (39, 16, 21)])
def test_lbp_top_fast_equals_reference(shape):
    """The flat-offset LBP-TOP equals the plain numpy one, ties included, down to the smallest segment."""
    rng = np.random.default_rng(shape[1])
    frames = rng.integers(0, 4, shape, dtype=np.uint8) * 60  # few grey levels: many ties
    np.testing.assert_array_equal(video.lbp_top(frames), video.lbp_top_reference(frames))
    noisy = rng.integers(0, 256, shape, dtype=np.uint8)
    np.testing.assert_array_equal(video.lbp_top(noisy), video.lbp_top_reference(noisy))


def test_lbp_top_of_a_strided_view_equals_reference():
    """A non-contiguous segment (every other column of a wider video) gives the reference answer."""
    frames = np.random.default_rng(3).integers(0, 3, (12, 10, 26), dtype=np.uint8)[:, :, ::2]
    np.testing.assert_array_equal(video.lbp_top(frames), video.lbp_top_reference(frames))


def test_lbp_top_downscale_is_opt_in():
    frames = np.random.default_rng(2).integers(0, 256, (30, 24, 32), dtype=np.uint8)
    np.testing.assert_array_equal(video.video_features(frames), video.lbp_top(frames)[None])
    assert video.shrink(frames, 4).shape == (30, 6, 8)
    np.testing.assert_array_equal(video.video_features(frames, downscale=4), video.lbp_top(video.shrink(frames, 4))[None])
    with pytest.raises(ValueError, match="downscale"):
        video.video_features(frames, downscale=0)
