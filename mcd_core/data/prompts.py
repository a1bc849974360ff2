"""TSPM's text prompt constructor: each MUSIC-AVQA question template becomes a declarative sentence
(CLIP was trained on statements, not questions), with the question's slot values filled in.

Matching is on the template with its end normalised (trailing spaces cut, a full-width `？` read as
`?`), so the three templates the released code never matched (`...sound? `, `...in the video？`,
`...<LRer> instrument? `: 11 % of the test questions, which it encoded as the prompt "e") get their
prompt. Slots are filled by name and occurrence (`<LR>` is the first `<LR>` value, `<Object#2>` the
second `<Object>` value), so no template can put one slot's value into another's place, as the
released prompt of "What is the <LR> instrument of the <FL> sounding instrument?" did (it read the
`<FL>` value where the `<LR>` value belongs: "... on the first ...").

The sentences are ours, written to state what each question asks about; where peer-facts.md quotes
TSPM's own prompt (the generic "There are musical instruments playing in the video." and a few
others), that sentence is used.
"""

from __future__ import annotations

import re
from typing import Iterable

from mcd_core.data.questions import AnnotationError

GENERIC = "There are musical instruments playing in the video."

# Question template (normalised end) -> declarative prompt. `<Name>` = first value of that slot,
# `<Name#k>` = its k-th value.
PROMPTS: dict[str, str] = {
    # Audio
    "How many musical instruments were heard throughout the video?": GENERIC,
    "Is there a <Object> sound?": "There is a <Object> sound in the video.",
    "Are there <Object> and <Object> sound?": "There are <Object#1> and <Object#2> sounds in the video.",
    "Is the <Object> louder than the <Object>?": "The <Object#1> and <Object#2> have different sounds in the video.",
    "Is the <Object> more rhythmic than the <Object>?":
        "The <Object#1> and the <Object#2> play different rhythms in the video.",
    "Is the <Object> playing longer than the <Object>?":
        "The <Object#1> and the <Object#2> play for different lengths of time in the video.",
    # Visual
    "Is there a <Object> in the entire video?": "There is a <Object> in the video.",
    "Are there <Object> and <Object> instruments in the video?":
        "There are <Object#1> and <Object#2> instruments in the video.",
    "How many <Object> are in the entire video?": "There are <Object> in the video.",
    "How many types of musical instruments appeared in the entire video?": GENERIC,
    "What is the instrument on the <LR> of <Object>?": "There is a musical instrument on the <LR> side of the <Object>.",
    "What kind of musical instrument is it?": GENERIC,
    "What kind of instrument is the <LRer> instrument?": "The <LRer> instrument is playing in the video.",
    "Where is the performance?": GENERIC,
    # Audio-visual
    "Is there a voiceover?": "There are sounds other than musical instruments in the video.",
    "Is the <Object> in the video always playing?": "The <Object> is not playing in the video.",
    "Is this sound from the instrument in the video?": "The sound comes from an instrument in the video.",
    "How many instruments are sounding in the video?": GENERIC,
    "How many instruments in the video did not sound from beginning to end?":
        "Some instruments in the video do not play from beginning to end.",
    "How many types of musical instruments sound in the video?": GENERIC,
    "How many sounding <Object> in the video?": "The <Object> is playing in the video.",
    "Is the instrument on the <LR> more rhythmic than the instrument on the <LR>?":
        "The instrument on the <LR#1> and the instrument on the <LR#2> play different rhythms.",
    "Is the instrument on the <LR> louder than the instrument on the <LR>?":
        "The instrument on the <LR#1> and the instrument on the <LR#2> play at different volumes.",
    "Is the <Object> on the <LR> more rhythmic than the <Object> on the <LR>?":
        "The <Object#1> on the <LR#1> and the <Object#2> on the <LR#2> play different rhythms.",
    "Is the <Object> on the <LR> louder than the <Object> on the <LR>?":
        "The <Object#1> on the <LR#1> and the <Object#2> on the <LR#2> play at different volumes.",
    "Which is the musical instrument that sounds at the same time as the <Object>?":
        "An instrument sounds at the same time as the <Object>.",
    "Where is the <LL> instrument?": "The <LL> instrument is playing in the video.",
    "Is the <FL> sound coming from the <LR> instrument?": "The <FL> sound comes from the <LR> instrument.",
    "What is the <LR> instrument of the <FL> sounding instrument?":
        "There is a musical instrument on the <LR> of the <FL> sounding instrument.",
    "What is the <TH> instrument that comes in?": "The <TH> instrument comes in.",
    "Where is the <FL> sounding instrument?": "The <FL> sounding instrument is playing in the video.",
    "Which <Object> makes the sound <FL>?": "One <Object> makes the sound <FL>.",
    "Which instrument makes sounds <BA> the <Object>?": "An instrument makes sounds <BA> the <Object>.",
}

_SLOT = re.compile(r"<([A-Za-z]+)>")
_PROMPT_SLOT = re.compile(r"<([A-Za-z]+)(?:#(\d+))?>")


class PromptError(AnnotationError):
    """A question template has no prompt, or its values do not fit its slots."""


def normalise_template(template: str) -> str:
    """The template with trailing spaces cut and a full-width question mark read as '?'."""
    return template.rstrip().replace("？", "?").rstrip()


def slot_values(template: str, values: Iterable[str]) -> dict[str, list[str]]:
    """Slot name -> its values in order of appearance in the template."""
    names = _SLOT.findall(template)
    values = list(values)
    if len(names) != len(values):
        raise PromptError(f"template {template!r} has {len(names)} slots but {len(values)} values {values}")
    out: dict[str, list[str]] = {}
    for name, value in zip(names, values):
        out.setdefault(name, []).append(value)
    return out


def build_prompt(template: str, values: Iterable[str]) -> str:
    """The declarative prompt of one question; PromptError for a template without one."""
    key = normalise_template(template)
    if key not in PROMPTS:
        raise PromptError(f"question template {template!r} has no declarative prompt (mcd_core/data/prompts.py)")
    filled = slot_values(key, values)

    def fill(match: re.Match) -> str:
        name, k = match.group(1), int(match.group(2) or 1)
        if name not in filled or k > len(filled[name]):
            raise PromptError(f"prompt of {template!r} needs <{name}> #{k}, the question gives {filled}")
        return filled[name][k - 1]

    return _PROMPT_SLOT.sub(fill, PROMPTS[key])
