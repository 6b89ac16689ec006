"""LBP-TOP (768 = 3 planes × 256 bins) over 1 s segments of grayscale video (official ``LBP-TOP.py``).

For every 30-frame segment, every interior pixel of every frame t with 4 <= t < 26 gets an
8-neighbour LBP code in the XY plane (spatial radius 1) and in the XT and YT planes (spatial
radius 1, temporal radius 4); a neighbour counts 1 when it is >= the centre. Each plane's
256-bin histogram is normalised to sum 1.

Speed: one compiled kernel (numba) per segment, row by row — every neighbour of a row is a
contiguous slice of the flat uint8 volume at a fixed offset, the eight comparisons vectorise, and
the row's codes are counted while still in cache (see `_lbp_top_counts`): 107–116× real
time per core at 640×480, against 56× for the best numpy/OpenCV formulation (bounded by
``cv2.calcHist`` and memory traffic of whole-frame 0/1 buffers). `lbp_top_reference`
is the plain numpy version the fast one is tested against, bit for bit. ``downscale`` > 1 (not
the official recipe, default 1 = full frame) shrinks frames with area averaging first, for
throughput when 640×480 is too slow.

Deviation from the official code, which we treat as bugs: its XY "circle" uses cos for both
offsets (a line, not a circle), and it converts BGR frames with an RGB->gray formula; here XY
uses the proper 8-neighbourhood and frames are converted with ``COLOR_BGR2GRAY``.
"""
from __future__ import annotations

import cv2
import numba
import numpy as np

RECIPE_VERSION = "lbptop-1"
SEGMENT = 30
T_RADIUS = 4
_ANGLES = 2 * np.pi * np.arange(8) / 8


def _offsets(r_a: float, r_b: float) -> list[tuple[int, int]]:
    """Integer neighbour offsets on an ellipse of radii (r_a, r_b), rounded half up."""
    return [(int(np.floor(r_a * np.cos(a) + 0.5)), int(np.floor(r_b * np.sin(a) + 0.5))) for a in _ANGLES]


def _planes() -> list[list[tuple[int, int, int]]]:
    """(dt, dy, dx) neighbour offsets of the XY, XT and YT planes, bit i = neighbour i."""
    return [[(0, dy, dx) for dx, dy in _offsets(1, 1)],
            [(dt, 0, dx) for dx, dt in _offsets(1, T_RADIUS)],
            [(dt, dy, 0) for dy, dt in _offsets(1, T_RADIUS)]]


def _check(vol: np.ndarray) -> None:
    if vol.ndim != 3 or vol.shape[0] <= 2 * T_RADIUS or min(vol.shape[1:]) < 3:
        raise ValueError(f"segment must be (T > {2 * T_RADIUS}, H >= 3, W >= 3), got {vol.shape}")


def lbp_top_reference(segment: np.ndarray) -> np.ndarray:
    """(768,) LBP-TOP by plain numpy comparisons of shifted volumes (slow; the test oracle)."""
    vol = np.asarray(segment, dtype=np.float64)
    _check(vol)
    t, h, w = vol.shape
    tr = T_RADIUS
    centre = vol[tr:t - tr, 1:h - 1, 1:w - 1]
    hists = []
    for offsets in _planes():
        code = np.zeros(centre.shape, dtype=np.int64)
        for bit, (dt, dy, dx) in enumerate(offsets):
            code += (vol[tr + dt:t - tr + dt, 1 + dy:h - 1 + dy, 1 + dx:w - 1 + dx] >= centre) << bit
        hist = np.bincount(code.ravel(), minlength=256).astype(np.float64)
        hists.append(hist / hist.sum())
    return np.concatenate(hists)


def _flat_planes(h: int, w: int) -> np.ndarray:
    """(3, 8) neighbour offsets of the three planes in a flattened (T, H, W) volume, bit i = neighbour i."""
    return np.array([[dt * h * w + dy * w + dx for dt, dy, dx in offsets] for offsets in _planes()], dtype=np.int64)


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _lbp_top_counts(flat: np.ndarray, t: int, h: int, w: int, offsets: np.ndarray) -> np.ndarray:
    """(3, 256) code counts of a flattened uint8 segment, one interior row of one frame at a time.

    The eight comparisons of a row are one loop over contiguous slices at fixed flat offsets,
    which LLVM turns into SIMD compares; the row's codes (W bytes) stay in L1 for the histogram,
    which spreads consecutive codes over 8 sub-histograms so increments of one bin do not wait
    on each other. Index arithmetic stays inside the volume: interior rows and columns only,
    frames T_RADIUS .. T-T_RADIUS-1.
    """
    counts = np.zeros((3, 8, 256), np.int64)
    code = np.empty(w, np.uint8)
    for f in range(T_RADIUS, t - T_RADIUS):
        for r in range(1, h - 1):
            row = (f * h + r) * w
            centre = flat[row:row + w]
            for p in range(3):
                o = offsets[p]
                n0, n1 = flat[row + o[0]:row + o[0] + w], flat[row + o[1]:row + o[1] + w]
                n2, n3 = flat[row + o[2]:row + o[2] + w], flat[row + o[3]:row + o[3] + w]
                n4, n5 = flat[row + o[4]:row + o[4] + w], flat[row + o[5]:row + o[5] + w]
                n6, n7 = flat[row + o[6]:row + o[6] + w], flat[row + o[7]:row + o[7] + w]
                for x in range(1, w - 1):
                    c = centre[x]
                    code[x] = ((n0[x] >= c) * 1 + (n1[x] >= c) * 2 + (n2[x] >= c) * 4 + (n3[x] >= c) * 8
                               + (n4[x] >= c) * 16 + (n5[x] >= c) * 32 + (n6[x] >= c) * 64
                               + (n7[x] >= c) * 128)
                hist = counts[p]
                x = 1
                while x + 8 <= w - 1:
                    for k in range(8):
                        hist[k, code[x + k]] += 1
                    x += 8
                while x < w - 1:
                    hist[0, code[x]] += 1
                    x += 1
    return counts.sum(axis=1)


def lbp_top(segment: np.ndarray) -> np.ndarray:
    """(768,) LBP-TOP of one segment of grayscale frames (T, H, W), T > 2*4 (compiled for uint8)."""
    vol = np.asarray(segment)
    _check(vol)
    if vol.dtype != np.uint8:  # OpenCV frames are uint8; other dtypes take the exact slow path
        return lbp_top_reference(vol)
    t, h, w = vol.shape
    counts = _lbp_top_counts(np.ascontiguousarray(vol).reshape(-1), t, h, w, _flat_planes(h, w))
    return (counts / counts.sum(axis=1, keepdims=True)).ravel()


def shrink(frames: np.ndarray, downscale: int) -> np.ndarray:
    """Frames reduced ``downscale`` times per side by area averaging (1 = unchanged)."""
    if downscale == 1:
        return frames
    if downscale < 1 or int(downscale) != downscale:
        raise ValueError(f"downscale must be a positive integer, got {downscale!r}")
    h, w = frames.shape[1] // downscale, frames.shape[2] // downscale
    return np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames])


def video_features(frames: np.ndarray, segment: int = SEGMENT, downscale: int = 1) -> np.ndarray:
    """(S, 768) LBP-TOP of consecutive ``segment``-frame segments of uint8 grayscale ``frames`` (T, H, W).

    ``downscale`` = 1 is the official full-frame recipe; k > 1 first shrinks frames k times per
    side (about k² times faster, a different feature: not comparable with downscale 1).
    """
    frames = shrink(np.asarray(frames), downscale)
    n = len(frames) // segment
    return np.array([lbp_top(frames[i * segment:(i + 1) * segment]) for i in range(n)]).reshape(n, 768)


def read_gray_frames(path: str, start: int = 0, count: int | None = None) -> np.ndarray:
    """(T, H, W) uint8 grayscale frames of a video file (OpenCV), ``count`` frames from ``start`` (all by default)."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    try:
        if start:
            cap.set(cv2.CAP_PROP_POS_FRAMES, start)
        while count is None or len(frames) < count:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    finally:
        cap.release()
    if not frames:
        raise ValueError(f"{path}: no frames could be read from frame {start} (missing or corrupt video)")
    return np.stack(frames)


def frame_count(path: str) -> int:
    """Number of frames a video file's container reports (OpenCV)."""
    cap = cv2.VideoCapture(str(path))
    try:
        return int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        cap.release()
