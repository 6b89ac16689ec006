"""One reader per file kind; a file that cannot be read is a DataError naming it.

Loaders call these instead of scipy, pickle, pandas or mne directly, so an unreadable file
(truncated, empty, a MATLAB v7.3 file, text renamed ``.mat``, a pickle of the wrong kind, a
CSV cut mid-row) is reported with its path and what the loader expected there, whatever the
library raised. The library's own message is kept in parentheses for the curious.
"""
from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from .base import DataError

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _missing(path: Path, expected: str) -> DataError:
    return DataError(f"{path}: file not found; expected {expected}")


def read_mat(path: Path, expected: str = "a MATLAB .mat file (v5 or older)") -> dict:
    """The variables of a .mat file (scipy ``loadmat``)."""
    from scipy.io import loadmat

    path = Path(path)
    if not path.is_file():
        raise _missing(path, expected)
    try:
        with open(path, "rb") as f:
            head = f.read(512)
        if head[:128].startswith(b"MATLAB 7.3") or _HDF5_MAGIC in head:
            raise DataError(f"{path}: a MATLAB v7.3 (HDF5) file, which scipy cannot read; expected "
                            f"{expected} (re-save it in MATLAB with save(..., '-v7'))")
        return loadmat(path)
    except DataError:
        raise
    except Exception as exc:  # scipy raises many types for a damaged file
        raise DataError(f"{path}: not a readable .mat file ({type(exc).__name__}: {exc}); "
                        f"expected {expected}") from exc


def mat_array(mat: dict, key: str, path: Path, ndim: int | None = None) -> np.ndarray:
    """Variable ``key`` of a loaded .mat as a non-empty float64 array (``ndim`` if given)."""
    if key not in mat:
        raise DataError(f"{path}: lacks variable {key!r}; has "
                        f"{sorted(k for k in mat if not k.startswith('__'))}")
    raw = np.asarray(mat[key])
    try:
        arr = raw.astype(np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{path}: variable {key!r} holds {raw.dtype} values, expected numbers") from None
    if arr.size == 0:
        raise DataError(f"{path}: variable {key!r} is empty (shape {arr.shape})")
    if ndim is not None and arr.ndim != ndim:
        raise DataError(f"{path}: variable {key!r} has shape {arr.shape}, expected {ndim} dimensions")
    return arr


def read_pickle(path: Path, unpickler: type[pickle.Unpickler], expected: str, **kwargs):
    """The object of a pickle, loaded with the (restricted) ``unpickler`` class; a refusal of
    the unpickler that is already a DataError is re-raised with the path in front."""
    path = Path(path)
    if not path.is_file():
        raise _missing(path, expected)
    try:
        return unpickler(io.BytesIO(path.read_bytes()), **kwargs).load()
    except DataError as exc:
        raise type(exc)(f"{path}: {exc}") from None
    except Exception as exc:
        raise DataError(f"{path}: not a readable pickle ({type(exc).__name__}: {exc}); expected "
                        f"{expected}; the file may be truncated or corrupt") from exc


def read_csv(path: Path, expected: str, **kwargs) -> pd.DataFrame:
    """A CSV through ``pandas.read_csv(**kwargs)``."""
    path = Path(path)
    if not path.is_file():
        raise _missing(path, expected)
    try:
        return pd.read_csv(path, **kwargs)
    except Exception as exc:  # pandas' parser, decoding and dtype errors
        raise DataError(f"{path}: not a readable CSV ({type(exc).__name__}: {exc}); expected {expected}") from exc


def read_edf(path: Path, expected: str = "an EDF recording"):
    """An EDF file as an mne Raw (data preloaded)."""
    import mne

    path = Path(path)
    if not path.is_file():
        raise _missing(path, expected)
    try:
        return mne.io.read_raw_edf(path, preload=True, verbose="error")
    except Exception as exc:
        raise DataError(f"{path}: not a readable EDF ({type(exc).__name__}: {exc}); expected {expected}") from exc
