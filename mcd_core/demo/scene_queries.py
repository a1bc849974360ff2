"""Questions one asks of a demo scene's ground truth: which source is where, who starts first,
whether one is clearly louder; `None` or no result where the answer would be ill-defined."""

from __future__ import annotations

import itertools
from typing import Iterator

from mcd_core.demo.scene import POSITIONS, Scene, Source

# Thresholds below which a comparison or an ordering is treated as a tie (no question asked).
MIN_RATIO = 1.3          # louder / more rhythmic
MIN_LONGER_S = 1.0       # playing longer
MIN_ONSET_GAP_S = 0.75   # order of entries
SAME_TIME_S = 0.25       # onsets this close are "simultaneously"
MIN_OVERLAP_S = 1.0      # "sounds at the same time as"


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def only(sources: list[Source], name: str) -> Source | None:
    """The one source of instrument `name` in `sources`, or None if there are none or several."""
    matches = [s for s in sources if s.instrument == name]
    return matches[0] if len(matches) == 1 else None


def at(scene: Scene, position: str) -> Source | None:
    return next((s for s in scene.sources if s.position == position), None)


def neighbour(scene: Scene, source: Source, side: str) -> Source | None:
    """Nearest visible source on `side` (left/right) of `source`."""
    step = -1 if side == "left" else 1
    index = POSITIONS.index(source.position) + step
    while 0 <= index < len(POSITIONS):
        found = at(scene, POSITIONS[index])
        if found:
            return found
        index += step
    return None


def onset_rank(scene: Scene, rank: int) -> Source | None:
    """The sounding source that comes in at `rank` (negative counts from the last), if separated."""
    order = sorted(scene.sounding, key=lambda s: s.onset)
    if not -len(order) <= rank < len(order):
        return None
    rank %= len(order)
    for other in (rank - 1, rank + 1):
        if 0 <= other < len(order) and abs(order[other].onset - order[rank].onset) < MIN_ONSET_GAP_S:
            return None
    return order[rank]


def overlap(a: Source, b: Source) -> float:
    return sum(max(0.0, min(e1, e2) - max(s1, s2)) for s1, e1 in a.spans for s2, e2 in b.spans)


def clearly_more(x: float, y: float) -> bool | None:
    """True if x is clearly larger than y, False if clearly smaller, None when too close."""
    if x >= MIN_RATIO * y:
        return True
    if y >= MIN_RATIO * x:
        return False
    return None


def rate(source: Source) -> float:
    return 1.0 / source.note_interval_s


def unique_sounding_pairs(scene: Scene) -> Iterator[tuple[Source, Source]]:
    """Ordered pairs of sounding sources whose instrument occurs once in the scene."""
    singles = [s for s in scene.sounding if only(list(scene.sources), s.instrument)]
    return itertools.permutations(singles, 2)


def visible_sounding_pairs(scene: Scene) -> Iterator[tuple[Source, Source]]:
    return itertools.permutations([s for s in scene.visible if s.sounding], 2)


# --- Audio ----------------------------------------------------------------------------------

