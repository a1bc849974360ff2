"""MUSIC-AVQA questions about a demo scene, with answers computed from its ground truth.

Every template is the real MUSIC-AVQA template, verbatim (including the full-width `？` and the
trailing spaces), with its real `[modality, type]`. For a scene, each template lists all of its
well-defined (template values, answer) candidates; ill-defined cases (ties, too-close onsets,
ambiguous references to a duplicated instrument) give no candidate. `picker.QuestionPicker` then
chooses which templates and which answers to ask so that answers are balanced within each template.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterator

from mcd_core.demo.scene import CATALOG, INSTRUMENTS, Scene
from mcd_core.demo.scene_queries import (MIN_LONGER_S, MIN_ONSET_GAP_S, MIN_OVERLAP_S, SAME_TIME_S,
                                         clearly_more, neighbour, only, onset_rank,
                                         overlap, rate, unique_sounding_pairs, visible_sounding_pairs,
                                         yes_no)

NUMBERS = ("zero", "one", "two", "three", "four", "five")
ORDINALS = ("first", "second", "third")
NAMES = tuple(inst.name for inst in CATALOG)



@dataclass(frozen=True)
class Candidate:
    values: tuple[str, ...]
    answer: str


@dataclass(frozen=True)
class Template:
    text: str
    qtype: tuple[str, str]
    candidates: Callable[[Scene], Iterator[Candidate]]


TEMPLATES: list[Template] = []


def template(text: str, modality: str, kind: str):
    def register(fn: Callable[[Scene], Iterator[Candidate]]):
        TEMPLATES.append(Template(text, (modality, kind), fn))
        return fn
    return register


@template("How many musical instruments were heard throughout the video?", "Audio", "Counting")
def _heard_count(scene):
    yield Candidate((), NUMBERS[len(scene.sounding)])


@template("Is there a <Object> sound?", "Audio", "Counting")
def _sound_exists(scene):
    heard = {s.instrument for s in scene.sounding}
    for name in NAMES:
        yield Candidate((name,), yes_no(name in heard))


@template("Are there <Object> and <Object> sound? ", "Audio", "Counting")
def _two_sounds_exist(scene):
    heard = {s.instrument for s in scene.sounding}
    for a, b in itertools.permutations(NAMES, 2):
        yield Candidate((a, b), yes_no(a in heard and b in heard))


@template("Is the <Object> louder than the <Object>?", "Audio", "Comparative")
def _louder(scene):
    for a, b in unique_sounding_pairs(scene):
        verdict = clearly_more(a.gain, b.gain)
        if verdict is not None:
            yield Candidate((a.instrument, b.instrument), yes_no(verdict))


@template("Is the <Object> more rhythmic than the <Object>?", "Audio", "Comparative")
def _more_rhythmic(scene):
    for a, b in unique_sounding_pairs(scene):
        verdict = clearly_more(rate(a), rate(b))
        if verdict is not None:
            yield Candidate((a.instrument, b.instrument), yes_no(verdict))


@template("Is the <Object> playing longer than the <Object>?", "Audio", "Comparative")
def _longer(scene):
    for a, b in unique_sounding_pairs(scene):
        if abs(a.duration - b.duration) >= MIN_LONGER_S:
            yield Candidate((a.instrument, b.instrument), yes_no(a.duration > b.duration))


# --- Visual ---------------------------------------------------------------------------------

@template("Is there a <Object> in the entire video?", "Visual", "Counting")
def _seen(scene):
    seen = {s.instrument for s in scene.visible}
    for name in NAMES:
        yield Candidate((name,), yes_no(name in seen))


@template("Are there <Object> and <Object> instruments in the video?", "Visual", "Counting")
def _two_seen(scene):
    seen = {s.instrument for s in scene.visible}
    for a, b in itertools.permutations(NAMES, 2):
        yield Candidate((a, b), yes_no(a in seen and b in seen))


@template("How many <Object> are in the entire video?", "Visual", "Counting")
def _seen_count(scene):
    counts = Counter(s.instrument for s in scene.visible)
    for name in NAMES:
        yield Candidate((name,), NUMBERS[counts[name]])


@template("How many types of musical instruments appeared in the entire video?", "Visual", "Counting")
def _seen_types(scene):
    yield Candidate((), NUMBERS[len({s.instrument for s in scene.visible})])


@template("What is the instrument on the <LR> of <Object>?", "Visual", "Location")
def _beside(scene):
    for source in scene.visible:
        if only(scene.visible, source.instrument) is None:
            continue
        for side in ("left", "right"):
            other = neighbour(scene, source, side)
            if other is not None and other.instrument != source.instrument:
                yield Candidate((side, source.instrument), other.instrument)


@template("What kind of musical instrument is it?", "Visual", "Location")
def _the_instrument(scene):
    if len(scene.visible) == 1:
        yield Candidate((), scene.visible[0].instrument)


@template("Where is the performance?", "Visual", "Location")
def _setting(scene):
    yield Candidate((), scene.setting)


@template("What kind of instrument is the <LRer> instrument? ", "Visual", "Location")
def _outermost(scene):
    if len(scene.visible) >= 2:
        yield Candidate(("leftest",), scene.visible[0].instrument)
        yield Candidate(("rightest",), scene.visible[-1].instrument)


# --- Audio-Visual ---------------------------------------------------------------------------

@template("Is there a voiceover?", "Audio-Visual", "Existential")
def _voiceover(scene):
    yield Candidate((), yes_no(bool(scene.voiceover_spans)))


@template("Is the <Object> in the video always playing?", "Audio-Visual", "Existential")
def _always_playing(scene):
    for source in scene.visible:
        if only(list(scene.sources), source.instrument) is source:
            always = source.spans == ((0.0, float(scene.seconds)),)
            yield Candidate((source.instrument,), yes_no(always))


@template("Is this sound from the instrument in the video?", "Audio-Visual", "Existential")
def _sound_on_screen(scene):
    yield Candidate((), yes_no(all(s.visible for s in scene.sounding)))


@template("How many sounding <Object> in the video？", "Audio-Visual", "Counting")
def _sounding_count_of(scene):
    counts = Counter(s.instrument for s in scene.visible if s.sounding)
    for name in NAMES:
        yield Candidate((name,), NUMBERS[counts[name]])


@template("How many instruments are sounding in the video?", "Audio-Visual", "Counting")
def _sounding_count(scene):
    yield Candidate((), NUMBERS[sum(s.sounding for s in scene.visible)])


@template("How many instruments in the video did not sound from beginning to end?", "Audio-Visual",
          "Counting")
def _silent_count(scene):
    yield Candidate((), NUMBERS[sum(not s.sounding for s in scene.visible)])


@template("How many types of musical instruments sound in the video?", "Audio-Visual", "Counting")
def _sounding_types(scene):
    yield Candidate((), NUMBERS[len({s.instrument for s in scene.sounding})])


@template("Is the instrument on the <LR> more rhythmic than the instrument on the <LR>?", "Audio-Visual",
          "Comparative")
def _pos_more_rhythmic(scene):
    for a, b in visible_sounding_pairs(scene):
        verdict = clearly_more(rate(a), rate(b))
        if verdict is not None:
            yield Candidate((a.position, b.position), yes_no(verdict))


@template("Is the instrument on the <LR> louder than the instrument on the <LR>?", "Audio-Visual",
          "Comparative")
def _pos_louder(scene):
    for a, b in visible_sounding_pairs(scene):
        verdict = clearly_more(a.gain, b.gain)
        if verdict is not None:
            yield Candidate((a.position, b.position), yes_no(verdict))


@template("Is the <Object> on the <LR> more rhythmic than the <Object> on the <LR>?", "Audio-Visual",
          "Comparative")
def _obj_pos_more_rhythmic(scene):
    for a, b in visible_sounding_pairs(scene):
        verdict = clearly_more(rate(a), rate(b))
        if verdict is not None:
            yield Candidate((a.instrument, a.position, b.instrument, b.position), yes_no(verdict))


@template("Is the <Object> on the <LR> louder than the <Object> on the <LR>?", "Audio-Visual",
          "Comparative")
def _obj_pos_louder(scene):
    for a, b in visible_sounding_pairs(scene):
        verdict = clearly_more(a.gain, b.gain)
        if verdict is not None:
            yield Candidate((a.instrument, a.position, b.instrument, b.position), yes_no(verdict))


@template("Which is the musical instrument that sounds at the same time as the <Object>?",
          "Audio-Visual", "Location")
def _same_time(scene):
    for source in scene.sounding:
        if only(list(scene.sources), source.instrument) is not source:
            continue
        others = sorted(((overlap(source, o), o) for o in scene.sounding if o is not source),
                        key=lambda pair: -pair[0])
        if not others or others[0][0] < MIN_OVERLAP_S:
            continue
        if len(others) > 1 and others[0][0] - others[1][0] < MIN_OVERLAP_S:
            continue  # two instruments overlap about as much: no single answer
        yield Candidate((source.instrument,), others[0][1].instrument)


@template("Where is the <LL> instrument?", "Audio-Visual", "Location")
def _loudest_lowest(scene):
    by_gain = sorted(scene.sounding, key=lambda s: -s.gain)
    if by_gain[0].visible and (len(by_gain) == 1 or clearly_more(by_gain[0].gain, by_gain[1].gain)):
        yield Candidate(("loudest",), by_gain[0].position)
    lowest = min(scene.sounding, key=lambda s: INSTRUMENTS[s.instrument].pitch_hz)
    if lowest.visible and only(scene.sounding, lowest.instrument) is lowest:
        yield Candidate(("lowest",), lowest.position)


@template("Is the <FL> sound coming from the <LR> instrument?", "Audio-Visual", "Location")
def _first_last_from(scene):
    for word, rank in (("first", 0), ("last", -1)):
        source = onset_rank(scene, rank)
        if source is None:
            continue
        for other in scene.visible:
            yield Candidate((word, other.position), yes_no(other is source))


@template("What is the <LR> instrument of the <FL> sounding instrument?", "Audio-Visual", "Location")
def _beside_first_last(scene):
    for word, rank in (("first", 0), ("last", -1)):
        source = onset_rank(scene, rank)
        if source is None or not source.visible:
            continue
        for side in ("left", "right"):
            other = neighbour(scene, source, side)
            if other is not None:
                yield Candidate((side, word), other.instrument)


@template("What is the <TH> instrument that comes in?", "Audio-Visual", "Temporal")
def _nth_entry(scene):
    if len(scene.sounding) < 2:
        return
    for rank, word in enumerate(ORDINALS):
        source = onset_rank(scene, rank)
        if source is not None:
            yield Candidate((word,), source.instrument)


@template("Where is the <FL> sounding instrument?", "Audio-Visual", "Temporal")
def _where_first_last(scene):
    if len(scene.sounding) < 2:
        return
    for word, rank in (("first", 0), ("last", -1)):
        source = onset_rank(scene, rank)
        if source is not None and source.visible:
            yield Candidate((word,), source.position)


@template("Which instrument makes sounds <BA> the <Object>?", "Audio-Visual", "Temporal")
def _before_after(scene):
    order = sorted(scene.sounding, key=lambda s: s.onset)
    for rank, source in enumerate(order):
        if only(list(scene.sources), source.instrument) is not source or onset_rank(scene, rank) is None:
            continue
        for word, other_rank in (("before", rank - 1), ("after", rank + 1)):
            if 0 <= other_rank < len(order) and onset_rank(scene, other_rank) is not None:
                yield Candidate((word, source.instrument), order[other_rank].instrument)


@template("Which <Object> makes the sound <FL>?", "Audio-Visual", "Temporal")
def _which_duplicate(scene):
    counts = Counter(s.instrument for s in scene.visible)
    for name, count in counts.items():
        if count < 2:
            continue
        players = sorted((s for s in scene.visible if s.instrument == name and s.sounding),
                         key=lambda s: s.onset)
        if not players:
            continue
        for word, rank in (("first", 0), ("last", -1)):
            if len(players) == 1:
                answer = players[0].position
            elif abs(players[0].onset - players[1].onset) <= SAME_TIME_S:
                answer = "simultaneously"
            elif abs(players[0].onset - players[1].onset) >= MIN_ONSET_GAP_S:
                answer = players[rank].position
            else:
                continue
            yield Candidate((name, word), answer)
