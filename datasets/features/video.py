"""LBP-TOP (768 = 3 planes × 256 bins) over 1 s segments of grayscale video (official ``LBP-TOP.py``).

For every 30-frame segment, every interior pixel of every frame t with 4 <= t < 26 gets an
8-neighbour LBP code in the XY plane (spatial radius 1) and in the XT and YT planes (spatial
radius 1, temporal radius 4); a neighbour counts 1 when it is >= the centre. Each plane's
256-bin histogram is normalised to sum 1.

Vectorised with shifted numpy views (no per-pixel loop). Deviation from the official code,
which we treat as bugs: its XY "circle" uses cos for both offsets (a line, not a circle), and it
converts BGR frames with an RGB->gray formula; here XY uses the proper 8-neighbourhood and
frames are converted with ``COLOR_BGR2GRAY``.
"""
from __future__ import annotations

import numpy as np

RECIPE_VERSION = "lbptop-1"
SEGMENT = 30
T_RADIUS = 4
_ANGLES = 2 * np.pi * np.arange(8) / 8


def _offsets(r_a: float, r_b: float) -> list[tuple[int, int]]:
    """Integer neighbour offsets on an ellipse of radii (r_a, r_b), rounded half up."""
    return [(int(np.floor(r_a * np.cos(a) + 0.5)), int(np.floor(r_b * np.sin(a) + 0.5))) for a in _ANGLES]


def _plane_hist(vol: np.ndarray, offsets: list[tuple[int, int, int]]) -> np.ndarray:
    """Normalised 256-bin histogram of LBP codes of centres vol[4:-4, 1:-1, 1:-1] (t, y, x)."""
    t, h, w = vol.shape
    tr = T_RADIUS
    centre = vol[tr:t - tr, 1:h - 1, 1:w - 1]
    code = np.zeros(centre.shape, dtype=np.uint8)
    ge = np.empty(centre.shape, dtype=bool)
    for bit, (dt, dy, dx) in enumerate(offsets):
        np.greater_equal(vol[tr + dt:t - tr + dt, 1 + dy:h - 1 + dy, 1 + dx:w - 1 + dx], centre, out=ge)
        code += ge.view(np.uint8) << np.uint8(bit)  # bits are distinct: + is |
    hist = np.bincount(code.ravel(), minlength=256).astype(np.float64)
    return hist / hist.sum()


def lbp_top(segment: np.ndarray) -> np.ndarray:
    """(768,) LBP-TOP of one segment of grayscale frames (T, H, W), T > 2*4."""
    vol = np.asarray(segment)
    if vol.dtype != np.uint8:  # compare in a common dtype; uint8 frames (OpenCV) stay uint8
        vol = vol.astype(np.float32)
    if vol.ndim != 3 or vol.shape[0] <= 2 * T_RADIUS or min(vol.shape[1:]) < 3:
        raise ValueError(f"segment must be (T > {2 * T_RADIUS}, H >= 3, W >= 3), got {vol.shape}")
    xy = [(0, dy, dx) for dx, dy in _offsets(1, 1)]
    xt = [(dt, 0, dx) for dx, dt in _offsets(1, T_RADIUS)]
    yt = [(dt, dy, 0) for dy, dt in _offsets(1, T_RADIUS)]
    return np.concatenate([_plane_hist(vol, xy), _plane_hist(vol, xt), _plane_hist(vol, yt)])


def video_features(frames: np.ndarray, segment: int = SEGMENT) -> np.ndarray:
    """(S, 768) LBP-TOP of consecutive ``segment``-frame segments of grayscale ``frames`` (T, H, W)."""
    frames = np.asarray(frames)
    n = len(frames) // segment
    return np.array([lbp_top(frames[i * segment:(i + 1) * segment]) for i in range(n)]).reshape(n, 768)


def read_gray_frames(path: str) -> np.ndarray:
    """(T, H, W) uint8 grayscale frames of a video file (OpenCV)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames = []
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    finally:
        cap.release()
    if not frames:
        raise ValueError(f"{path}: no frames could be read (missing or corrupt video)")
    return np.stack(frames)
