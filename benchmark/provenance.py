"""Provenance recorded in every result record: what ran the job, so that two runs can be told
comparable or not afterwards.

`provenance` returns (computed once per process, cached)::

    versions     the libraries that shape a number: numpy, scipy, pandas, scikit-learn, torch,
                 joblib, POT, mne, neurokit2, threadpoolctl, and python (None: not installed)
    python       the interpreter's version (also in ``versions``)
    git_commit   HEAD of the checkout, host: the machine's network name
    device       "cuda" when torch sees a GPU, else "cpu": the device the shared training loop
                 picks by default (``device="auto"``, methods/training.py)
    device_name  the GPU's name on CUDA, else the CPU model (/proc/cpuinfo, else platform)
    cpu          the CPU model, also on a GPU machine
    blas         the BLAS/LAPACK libraries loaded (numpy's and scipy's, and others such as
                 OpenCV's when already imported), from ``threadpoolctl.threadpool_info()``:
                 library, the package shipping it (``owner``), version, the kernel OpenBLAS
                 chose (``architecture``, e.g. SkylakeX, Haswell; a forced Prescott reports
                 itself as Katmai), threading layer, threads
    torch        torch's math back ends: ``cpu_capability``
                 (``torch.backends.cpu.get_cpu_capability()``: DEFAULT, AVX2, AVX512), the BLAS
                 it was built with (MKL or OpenBLAS, from its build configuration), whether MKL
                 and mkldnn are available, CUDA and cuDNN versions; None without torch
    env          the variables that force a kernel: OPENBLAS_CORETYPE, MKL_ENABLE_INSTRUCTIONS,
                 MKL_CBWR, ATEN_CPU_CAPABILITY (None: unset)
    kernel       `kernel_signature`: one line naming the math kernels that ran

Torch is imported to read its CPU capability (about a second, once per run); without torch
the ``torch`` entry is None and the rest is unchanged. Any probe that fails leaves its field
None rather than failing the run.
"""
from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import platform
import re
import subprocess
from pathlib import Path

PACKAGES = ("numpy", "scipy", "pandas", "scikit-learn", "torch", "joblib", "POT", "mne",
            "neurokit2", "threadpoolctl")
KERNEL_ENV = ("OPENBLAS_CORETYPE", "MKL_ENABLE_INSTRUCTIONS", "MKL_CBWR", "ATEN_CPU_CAPABILITY")


def _versions() -> dict:
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    versions["python"] = platform.python_version()
    return versions


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                              capture_output=True, text=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def cpu_name() -> str:
    """The CPU model: /proc/cpuinfo's ``model name`` (Linux), else what platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _owner(filepath: str) -> str | None:
    """Which package ships a library, from its path (``.../site-packages/numpy.libs/...``)."""
    for part in Path(filepath or "").parts[::-1]:
        if part.endswith(".libs") or part in ("numpy", "scipy", "torch", "sklearn"):
            return part.removesuffix(".libs")
    return None


def blas_info() -> list[dict] | None:
    """The BLAS/LAPACK libraries loaded (numpy's and scipy's at least), per threadpoolctl;
    None without it."""
    try:
        import numpy  # noqa: F401  (load the libraries threadpoolctl is to report)
        import scipy.linalg  # noqa: F401
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    try:
        info = threadpool_info()
    except Exception:  # noqa: BLE001 (a probe: never fail a run over it)
        return None
    return [{"library": i.get("internal_api"), "prefix": i.get("prefix"),
             "owner": _owner(i.get("filepath", "")), "version": i.get("version"),
             "architecture": i.get("architecture"), "threading_layer": i.get("threading_layer"),
             "num_threads": i.get("num_threads")}
            for i in info if i.get("user_api") == "blas"]


def torch_info() -> dict | None:
    """Torch's math back ends (see the module docstring); None when torch is not installed."""
    if importlib.util.find_spec("torch") is None:
        return None
    try:
        import torch
    except Exception:  # noqa: BLE001 (a broken install is recorded as absent)
        return None
    info: dict = {"cpu_capability": None, "blas": None, "lapack": None, "mkl": None,
                  "mkldnn": None, "cuda": None, "cudnn": None, "gpu": None}
    try:
        info["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    except Exception:  # noqa: BLE001 (older torch)
        pass
    try:
        config = torch.__config__.show()
        for field in ("blas", "lapack"):
            m = re.search(rf"\b{field.upper()}_INFO=([^,\s]+)", config)
            info[field] = m.group(1) if m else None
        info["mkl"] = bool(torch.backends.mkl.is_available())
        info["mkldnn"] = bool(torch.backends.mkldnn.is_available())
        info["cuda"] = torch.version.cuda
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
            info["cudnn"] = torch.backends.cudnn.version()
    except Exception:  # noqa: BLE001
        pass
    return info


def kernel_signature(prov: dict) -> str:
    """One line naming the math kernels of a provenance: the OpenBLAS core types (or other
    BLAS) of numpy and scipy, torch's CPU capability and BLAS, MKL's forcing variables when set,
    and the device. Two runs with the same signature ran the same kernels; the regression gate
    (benchmark/check.py) tells a kernel run from a seed run by it. "unknown" for a record made
    before these fields existed."""
    if not prov or "blas" not in prov:
        return "unknown"
    # numpy's and scipy's libraries (wheels bundle them; a system or conda library has no
    # owner): others (OpenCV ships its own OpenBLAS) are listed in ``blas`` when loaded, but
    # whether they are loaded depends on what the run imported first.
    blas = sorted({f"{b.get('owner') or 'system'}:{b.get('library')}"
                   f"{'/' + b['architecture'] if b.get('architecture') else ''}"
                   for b in prov.get("blas") or [] if b.get("owner") in ("numpy", "scipy", None)})
    parts = ["blas=" + (",".join(blas) or "none")]
    t = prov.get("torch")
    if t:
        parts.append(f"torch={t.get('cpu_capability')}/{t.get('blas')}")
    # OPENBLAS_CORETYPE and ATEN_CPU_CAPABILITY show in the architecture and capability above;
    # what MKL dispatches to is not observable, so its forcing variables stand for it.
    env = {k: v for k, v in (prov.get("env") or {}).items() if v is not None and k.startswith("MKL_")}
    parts += [f"{k}={v}" for k, v in sorted(env.items())]
    device = prov.get("device") or "cpu"
    if device != "cpu":
        parts.append(f"device={device}:{prov.get('device_name')}")
    return " ".join(parts)


@functools.lru_cache(maxsize=1)
def provenance() -> dict:
    """What ran this process's jobs (the module docstring lists the fields); cached."""
    cpu = cpu_name()
    torch = torch_info()
    gpu = torch.get("gpu") if torch else None
    prov = {"versions": _versions(), "python": platform.python_version(),
            "git_commit": _git_commit(), "host": platform.node(),
            "device": "cuda" if gpu else "cpu", "device_name": gpu or cpu, "cpu": cpu,
            "blas": blas_info(), "torch": torch,
            "env": {k: os.environ.get(k) for k in KERNEL_ENV}}
    prov["kernel"] = kernel_signature(prov)
    return prov
