"""Ground truth of one demo video: which instruments are seen where, and which sound when.

A scene is pure data drawn from a seeded numpy Generator; `demo_media` renders it to pixels and
samples, `demo.questions` asks MUSIC-AVQA questions about it. Times and gains are rounded when drawn
so that the JSON copy in `scenes.json` is exactly the truth the media was rendered from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

POSITIONS = ("left", "middle", "right")
SETTINGS = ("indoor", "outdoor")


@dataclass(frozen=True)
class Instrument:
    """How one instrument looks and sounds.

    Colours and shapes are saturated and distinct so that even an untrained CNN separates them.
    Pitches were chosen so that no harmonic (up to the 8th) of one instrument lies within 5 % of
    another's fundamental: the energy at a fundamental therefore belongs to that instrument alone.
    """

    name: str
    colour: tuple[int, int, int]
    shape: str                  # one of demo_media.SHAPES
    pitch_hz: float             # fundamental
    harmonics: tuple[float, ...]  # amplitude of partial k+1 (partial ratios given by `partials`)
    partials: tuple[float, ...]   # frequency ratios of the partials to the fundamental
    note_interval_s: float      # typical time between note onsets (scaled per instance)
    struck: bool                # True: each note decays (piano, guitar, drum); False: sustained


CATALOG: tuple[Instrument, ...] = (
    Instrument("violin", (220, 30, 30), "triangle", 523.0,
               (1.0, 0.5, 0.33, 0.25, 0.2), (1, 2, 3, 4, 5), 0.8, False),
    Instrument("piano", (250, 250, 250), "wide_rect", 277.0,
               (1.0, 0.4, 0.2, 0.1), (1, 2, 3, 4), 0.5, True),
    Instrument("cello", (255, 140, 0), "ellipse", 123.0,
               (1.0, 0.6, 0.4, 0.25), (1, 2, 3, 4), 1.0, False),
    Instrument("flute", (0, 230, 230), "cross", 784.0,
               (1.0, 0.1), (1, 2), 0.6, False),
    Instrument("trumpet", (255, 230, 0), "diamond", 294.0,
               (1.0, 0.8, 0.6, 0.5, 0.4, 0.3), (1, 2, 3, 4, 5, 6), 0.5, False),
    Instrument("acoustic_guitar", (230, 0, 200), "circle", 185.0,
               (1.0, 0.5, 0.3, 0.15), (1, 2, 3, 4), 0.4, True),
    Instrument("drum", (20, 20, 160), "square", 82.0,
               (1.0, 0.5), (1, 1.59), 0.25, True),
    Instrument("accordion", (15, 15, 15), "ring", 440.0,
               (1.0, 0.33, 0.2, 0.14), (1, 3, 5, 7), 0.75, False),
)
INSTRUMENTS: dict[str, Instrument] = {inst.name: inst for inst in CATALOG}


@dataclass(frozen=True)
class Source:
    """One instrument instance: on screen at `position` (None: heard but off screen)."""

    instrument: str
    position: str | None
    spans: tuple[tuple[float, float], ...]  # sounding intervals in seconds; empty: never sounds
    gain: float                             # loudness of this instance (RMS of its notes)
    note_interval_s: float                  # time between its note onsets

    @property
    def visible(self) -> bool:
        return self.position is not None

    @property
    def sounding(self) -> bool:
        return bool(self.spans)

    @property
    def onset(self) -> float:
        return self.spans[0][0]

    @property
    def duration(self) -> float:
        return sum(end - start for start, end in self.spans)


@dataclass(frozen=True)
class Scene:
    video_id: str
    seconds: int
    setting: str                                   # indoor / outdoor
    sources: tuple[Source, ...]
    voiceover_spans: tuple[tuple[float, float], ...] = field(default=())

    @property
    def visible(self) -> list[Source]:
        return sorted((s for s in self.sources if s.visible), key=lambda s: POSITIONS.index(s.position))

    @property
    def sounding(self) -> list[Source]:
        return [s for s in self.sources if s.sounding]

    def to_json(self) -> dict:
        record = asdict(self)
        record["sources"] = [dict(asdict(s), spans=[list(span) for span in s.spans]) for s in self.sources]
        record["voiceover_spans"] = [list(span) for span in self.voiceover_spans]
        return record

    @staticmethod
    def from_json(record: dict) -> "Scene":
        sources = tuple(Source(s["instrument"], s["position"], tuple(tuple(sp) for sp in s["spans"]),
                               s["gain"], s["note_interval_s"]) for s in record["sources"])
        return Scene(record["video_id"], record["seconds"], record["setting"], sources,
                     tuple(tuple(sp) for sp in record["voiceover_spans"]))


# Scene statistics, tuned so that every question template is well defined in a good share of scenes.
P_VISIBLE_COUNT = {1: 0.25, 2: 0.4, 3: 0.35}
P_DUPLICATE_TYPE = 0.3      # two visible instances of one instrument (for "How many <Object>" etc.)
P_VISIBLE_SOUNDS = 0.75
P_OFF_SCREEN = 0.4          # an instrument heard but not seen
P_WHOLE_VIDEO = 0.35        # a sounding instance plays from start to end
P_VOICEOVER = 0.4


def _round(x: float, step: float = 0.1) -> float:
    return round(round(x / step) * step, 3)


def _draw_span(rng: np.random.Generator, seconds: int) -> tuple[tuple[float, float], ...]:
    if rng.random() < P_WHOLE_VIDEO:
        return ((0.0, float(seconds)),)
    start = _round(rng.uniform(0.0, 0.5 * seconds))
    end = float(seconds) if rng.random() < 0.5 else _round(rng.uniform(start + 0.35 * seconds, seconds))
    return ((start, min(end, float(seconds))),)


def _draw_source(rng: np.random.Generator, name: str, position: str | None, sounds: bool,
                 seconds: int) -> Source:
    spans = _draw_span(rng, seconds) if sounds else ()
    tempo = 2.0 ** rng.uniform(-1.0, 1.0)  # per-instance rhythm around the instrument's own
    return Source(name, position, spans, _round(rng.uniform(0.25, 1.0), 0.01),
                  _round(INSTRUMENTS[name].note_interval_s * tempo, 0.01))


def draw_scene(rng: np.random.Generator, video_id: str, seconds: int) -> Scene:
    """Draw one scene: 1-3 visible instruments, maybe one off screen, maybe a voiceover."""
    names = [inst.name for inst in CATALOG]
    n_visible = int(rng.choice(list(P_VISIBLE_COUNT), p=list(P_VISIBLE_COUNT.values())))
    positions = sorted(rng.choice(len(POSITIONS), size=n_visible, replace=False).tolist())
    n_types = n_visible - 1 if n_visible >= 2 and rng.random() < P_DUPLICATE_TYPE else n_visible
    types = [str(t) for t in rng.choice(names, size=n_types + 1, replace=False)]
    visible_types = types[:n_types] + types[:n_visible - n_types]  # repeat the first type if needed
    visible_types = [visible_types[i] for i in rng.permutation(n_visible)]
    sounds = rng.random(n_visible) < P_VISIBLE_SOUNDS
    sources = [_draw_source(rng, name, POSITIONS[pos], bool(snd), seconds)
               for name, pos, snd in zip(visible_types, positions, sounds)]
    if rng.random() < P_OFF_SCREEN or not any(sounds):
        sources.append(_draw_source(rng, types[-1], None, True, seconds))
    voiceover = _draw_span(rng, seconds) if rng.random() < P_VOICEOVER else ()
    setting = SETTINGS[int(rng.integers(len(SETTINGS)))]
    return Scene(video_id, seconds, setting, tuple(sources), voiceover)
