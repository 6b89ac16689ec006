"""Parsing WESAD's ``SX_quest.csv``: the protocol schedule and the PANAS answers.

Shared by the ``wesad`` (chest + wrist pickle) and ``wesad-e4`` (wrist CSV) loaders. The file
is ``;``-separated, padded to 27 fields, with sections ``# ORDER``, ``# START``, ``# END``,
five ``# PANAS`` rows (in ORDER), ``# STAI``, ``# DIM`` and ``# SSSQ`` (docs/datasets.md).

Quirks handled here:

- START/END are *minutes.seconds* from the chest device's start: ``7.1`` is 7:10, not 7.1 min.
- ORDER lists the five affective conditions followed by reading periods, which are ignored.
  Conditions are mapped by position, so S14's order (``Medi 2`` before ``Medi 1``) keeps each
  meditation's own PANAS row and times.
- A PANAS row has 24 items, or 26 after the stress condition (Angry and Irritated are asked only
  then); a 24-value row maps to items 1-23 plus Sad.
- The literal ``Nan`` (S5) is a missing answer. It is imputed with the median of the same item
  over the subject's other conditions (logged), because dropping a whole condition for one
  missing item would lose ~7 % of that subject's data.

Label items (the distribution's support) are a parameter, by name (`LABEL_SETS`) or as a
list of items:

- ``dmer9`` (the default, `DMER_SHARED_ITEMS`): the nine of DMER's ten PANAS items that
  WESAD asked after every condition. "Upset" is not in WESAD's list, and substituting "Annoyed"
  would change the item's meaning, so it is left out.
- ``panas24``: the 24 items asked after every condition.
- ``all26``: all 26, with "angry" and "irritated", asked only after the stress condition. Outside
  stress they were not asked; they are scored `UNASKED_SCORE` = 1, the scale's "very
  slightly or not at all" (our choice: the questionnaire's designers left them out of the calm
  conditions because they expected no anger there; imputing a per-subject value instead would
  invent a rating the subject never gave). The constant is a parameter of
  `condition_distribution`.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from .base import DataError

log = logging.getLogger(__name__)

PANAS_ITEMS = ("active", "distressed", "interested", "inspired", "annoyed", "strong", "guilty",
               "scared", "hostile", "excited", "proud", "irritable", "enthusiastic", "ashamed",
               "alert", "nervous", "determined", "attentive", "jittery", "afraid", "stressed",
               "frustrated", "happy", "angry", "irritated", "sad")
STRESS_ONLY_ITEMS = ("angry", "irritated")
NEGATIVE_ITEMS = frozenset({"distressed", "annoyed", "guilty", "scared", "hostile", "irritable",
                            "ashamed", "nervous", "jittery", "afraid", "stressed", "frustrated",
                            "angry", "irritated", "sad"})
# DMER's items in DMER's order, without "upset" (absent from WESAD's questionnaire).
DMER_SHARED_ITEMS = ("inspired", "alert", "excited", "enthusiastic", "determined",
                     "afraid", "nervous", "scared", "distressed")
PANAS24 = tuple(i for i in PANAS_ITEMS if i not in STRESS_ONLY_ITEMS)
LABEL_SETS = {"dmer9": DMER_SHARED_ITEMS, "panas24": PANAS24, "all26": PANAS_ITEMS}
DEFAULT_LABEL_SET = "dmer9"
UNASKED_SCORE = 1.0  # "very slightly or not at all": angry/irritated outside the stress condition
CONDITIONS = {"Base": ("baseline", 1), "TSST": ("stress", 2), "Fun": ("amusement", 3),
              "Medi 1": ("meditation1", 4), "Medi 2": ("meditation2", 4)}
N_CONDITIONS = 5


@dataclass(frozen=True)
class Condition:
    """One affective condition of a subject's protocol.

    ``start``/``end`` are seconds from the chest device's start; ``label`` is WESAD's label id
    (1 baseline, 2 stress, 3 amusement, 4 meditation); ``panas`` maps item -> score (NaN when
    not asked or missing).
    """

    name: str
    label: int
    start: float
    end: float
    panas: dict = field(hash=False)


def minutes_seconds(value: str, where: str = "") -> float:
    """Seconds from a ``minutes.seconds`` string: ``'7.1'`` -> 430, ``'39.55'`` -> 2395."""
    text = value.strip()
    minutes, _, secs = text.partition(".")
    try:
        m = int(minutes)
        s = int((secs + "0")[:2]) if secs else 0
    except ValueError:
        raise DataError(f"{where}: time {value!r} is not minutes.seconds") from None
    if s >= 60:
        raise DataError(f"{where}: time {value!r} has {s} seconds (minutes.seconds expected)")
    return 60.0 * m + s


def _score(value: str, where: str) -> float:
    if value.strip().lower() == "nan":
        return math.nan
    try:
        score = float(value)
    except ValueError:
        raise DataError(f"{where}: PANAS answer {value!r} is not a number") from None
    if not 1 <= score <= 5:
        raise DataError(f"{where}: PANAS answer {score:g} outside 1..5")
    return score


def _panas_row(values: list[str], where: str) -> dict:
    if len(values) == len(PANAS_ITEMS):
        items = PANAS_ITEMS
    elif len(values) == len(PANAS_ITEMS) - len(STRESS_ONLY_ITEMS):
        items = tuple(i for i in PANAS_ITEMS if i not in STRESS_ONLY_ITEMS)
    else:
        raise DataError(f"{where}: PANAS row has {len(values)} answers, expected 24 or 26")
    row = dict.fromkeys(PANAS_ITEMS, math.nan)
    row.update({item: _score(v, where) for item, v in zip(items, values)})
    return row


def _sections(path: Path) -> dict[str, list[list[str]]]:
    try:
        lines = path.read_text(encoding="latin-1").splitlines()
    except OSError as exc:
        raise DataError(f"cannot read questionnaire {path}: {exc}") from exc
    out: dict[str, list[list[str]]] = {}
    for line in lines:
        fields = [f.strip() for f in line.split(";")]
        if fields and fields[0].startswith("#"):
            out.setdefault(fields[0].lstrip("# ").upper(), []).append([f for f in fields[1:] if f])
    return out


def _impute_missing(conditions: list[Condition], path: Path) -> None:
    """Fill a ``Nan`` answer with the item's median over the subject's other conditions."""
    for cond in conditions:
        for item, score in cond.panas.items():
            if math.isnan(score) and item not in STRESS_ONLY_ITEMS:
                others = [c.panas[item] for c in conditions if not math.isnan(c.panas[item])]
                if not others:
                    continue
                cond.panas[item] = float(np.round(np.median(others)))
                log.info("%s: %s PANAS item %r missing; imputed %g (median of other conditions)",
                         path, cond.name, item, cond.panas[item])


def parse_quest(path: str | Path) -> list[Condition]:
    """The five affective conditions of ``SX_quest.csv``, in protocol order."""
    path = Path(path)
    sec = _sections(path)
    for key in ("ORDER", "START", "END", "PANAS"):
        if key not in sec:
            raise DataError(f"{path}: no '# {key}' row (is this a WESAD SX_quest.csv?)")
    order, starts, ends = sec["ORDER"][0], sec["START"][0], sec["END"][0]
    panas = sec["PANAS"]
    if len(order) < N_CONDITIONS or len(starts) < N_CONDITIONS or len(ends) < N_CONDITIONS:
        raise DataError(f"{path}: ORDER/START/END list fewer than {N_CONDITIONS} conditions")
    if len(panas) < N_CONDITIONS:
        raise DataError(f"{path}: {len(panas)} PANAS rows, expected {N_CONDITIONS}")
    conditions = []
    for i in range(N_CONDITIONS):
        if order[i] not in CONDITIONS:
            raise DataError(f"{path}: ORDER entry {i + 1} is {order[i]!r}; expected one of {list(CONDITIONS)}")
        name, label = CONDITIONS[order[i]]
        start = minutes_seconds(starts[i], f"{path} START {order[i]}")
        end = minutes_seconds(ends[i], f"{path} END {order[i]}")
        if end <= start:
            raise DataError(f"{path}: condition {order[i]!r} ends ({end:g} s) before it starts ({start:g} s)")
        conditions.append(Condition(name, label, start, end,
                                    _panas_row(panas[i], f"{path} PANAS row {i + 1} ({order[i]})")))
    names = [c.name for c in conditions]
    if len(set(names)) != N_CONDITIONS:
        raise DataError(f"{path}: conditions {names} are not the five distinct WESAD conditions")
    _impute_missing(conditions, path)
    return conditions


def item_valence(items: Sequence[str]) -> np.ndarray:
    """+1 for positive-affect items, -1 for negative ones."""
    return np.array([-1 if i in NEGATIVE_ITEMS else 1 for i in items], dtype=np.int8)


def resolve_items(items: str | Sequence[str]) -> tuple[str, ...]:
    """A label construction by name (`LABEL_SETS`) or as a list of PANAS items -> the items."""
    if isinstance(items, str):
        if items not in LABEL_SETS:
            raise DataError(f"items={items!r}: unknown label construction; valid: "
                            f"{', '.join(LABEL_SETS)}, or a list of PANAS items")
        return LABEL_SETS[items]
    items = tuple(items)
    unknown = [i for i in items if i not in PANAS_ITEMS]
    if unknown or not items:
        raise DataError(f"items: unknown PANAS item(s) {unknown or '(none given)'}; valid: "
                        f"{', '.join(PANAS_ITEMS)}, or one of {', '.join(LABEL_SETS)}")
    return items


def items_name(items: str | Sequence[str]) -> str:
    """The construction's name for titles and ``info``: the set's name, else the item list."""
    resolved = resolve_items(items)
    return next((k for k, v in LABEL_SETS.items() if v == resolved), ",".join(resolved))


def condition_distribution(cond: Condition, items: Sequence[str] = DMER_SHARED_ITEMS,
                           where: str = "", unasked: float = UNASKED_SCORE) -> np.ndarray:
    """The condition's PANAS scores over ``items`` divided by their sum (DMER's label recipe).

    ``unasked`` scores the stress-only items (angry, irritated) after the other conditions,
    where WESAD did not ask them; any other missing answer is an error.
    """
    unknown = [i for i in items if i not in PANAS_ITEMS]
    if unknown:
        raise DataError(f"unknown PANAS item(s) {unknown}; valid: {PANAS_ITEMS}")
    scores = np.array([unasked if i in STRESS_ONLY_ITEMS and math.isnan(cond.panas[i]) and
                       cond.label != CONDITIONS["TSST"][1] else cond.panas[i]
                       for i in items], dtype=np.float64)
    if np.isnan(scores).any():
        missing = [i for i, s in zip(items, scores) if np.isnan(s)]
        raise DataError(f"{where} condition {cond.name}: PANAS item(s) {missing} not answered")
    return scores / scores.sum()
