"""Speed gate: ratios measured inside ONE pytest-benchmark JSON, with tolerances loose enough for a shared machine.

    python tests/perf/gate.py runs/perf.json

Absolute seconds do not carry between machines; a ratio of two figures timed in the same run
(CPU time of one thread) mostly does. Each check names two benchmarks; it fails when a required
one is missing or the ratio of their medians is out of bounds, and is skipped (said so) when an
optional one (the ``--perf-slow`` runs) is absent. Bounds are several times today's figure except
where the issue fixes a target (MPCL step ≤ 1.2 × the TransEnc step).
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Check:
    what: str
    numerator: str
    denominator: str
    high: float = float("inf")
    low: float = 0.0
    required: bool = True


REF = "test_numpy_matmul_reference"
CHECKS = (
    # docs/speed.md's target: the Hopfield modules cost no more than the attention they replace (today 0.4)
    Check("MPCL step / MPCL[w/ TransEnc] step (quick)", "test_training_step[mpcl-quick]",
          "test_training_step[mpcl[w/ TransEnc]-quick]", high=1.2),
    # today 3.3 on the 2-core CI machine
    Check("MPCL step (quick) / numpy matmul reference", "test_training_step[mpcl-quick]", REF, high=15.0),
    # today 5.2: 2 s of 640x480 video over the reference workload
    Check("LBP-TOP 2 s of 640x480 / numpy matmul reference", "test_recipe[dmer-video-lbp-top]", REF, high=15.0),
    # today 7-15 (varies with load): the fast LBP-TOP must stay well ahead of the plain numpy one
    Check("LBP-TOP reference / fast, 160x120", "test_recipe[lbp-top-reference-160x120]",
          "test_recipe[lbp-top-160x120]", low=3.0),
    # The second worker's yield on a small run (160 jobs, six methods), both timed in this
    # session (wall). Measured on this 2-core machine with nothing else running: 1.58 (the test
    # alone) and 1.26 (inside `.ci/run`, after the test suite); under other sessions' load
    # 0.72-1.06 (Linux autogroups share CPU between sessions, see docs/speed.md). The fixed costs
    # of a small run (imports, worker start-up) cap it well below 2. The bound sits under the
    # lowest idle measurement and above what a serialising pool gives (~1.0).
    Check("small run --n-jobs 1 / --n-jobs 2", "test_parallel_run[1]", "test_parallel_run[2]",
          low=1.1),
    # --perf-slow only: the default run, where the target is >= 1.8 on two idle cores
    Check("default run --n-jobs 1 / --n-jobs 2", "test_default_run[1]", "test_default_run[2]",
          low=1.6, required=False),
)


def medians(path: Path) -> dict[str, float]:
    try:
        data = json.loads(path.read_text())
        return {b["name"]: b["stats"]["median"] for b in data["benchmarks"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"gate: {path}: not a pytest-benchmark JSON ({exc})")


def run(path: Path) -> list[str]:
    """Printable lines, one per check; a line starting with FAIL is a failure."""
    med, lines = medians(path), []
    for c in CHECKS:
        missing = [n for n in (c.numerator, c.denominator) if n not in med]
        if missing:
            status = "FAIL" if c.required else "skip"
            lines.append(f"{status} {c.what}: {', '.join(missing)} not in {path}")
            continue
        ratio = med[c.numerator] / med[c.denominator]
        ok = c.low <= ratio <= c.high
        bounds = f"<= {c.high:g}" if c.low == 0 else f">= {c.low:g}"
        lines.append(f"{'ok  ' if ok else 'FAIL'} {c.what}: {ratio:.2f} (bound {bounds})")
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__.splitlines()[2].strip(), file=sys.stderr)
        return 2
    lines = run(Path(argv[0]))
    print("\n".join(lines))
    return 1 if any(line.startswith("FAIL") for line in lines) else 0


if __name__ == "__main__":
    raise SystemExit(main())
