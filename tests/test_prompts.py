"""TSPM's text prompt constructor (data/prompts.py) on the real MUSIC-AVQA templates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcd_core.data.prompts import PROMPTS, PromptError, build_prompt, normalise_template

AVQA = Path("/work/shared/data/music_avqa")
FILES = sorted(AVQA.glob("json*/avqa-*.json")) if AVQA.is_dir() else []


@pytest.mark.skipif(not FILES, reason="the MUSIC-AVQA annotation files are not on this machine")
def test_every_real_template_gets_a_prompt_with_its_values_filled():
    templates: dict[str, tuple[str, list[str]]] = {}
    for path in FILES:
        for record in json.loads(path.read_text(encoding="utf-8")):
            templates.setdefault(record["question_content"], (path.name, json.loads(record["templ_values"])))
    assert len(templates) == 33
    for template, (_, values) in templates.items():
        prompt = build_prompt(template, values)
        assert "<" not in prompt and prompt.endswith(".") and not prompt.endswith("?")
        for value in values:
            assert value in prompt or prompt in {p for p in PROMPTS.values() if "<" not in p}, (template, prompt)
    # the released matcher's misses: a full-width question mark and two trailing spaces
    odd = [t for t in templates if t != t.rstrip() or "？" in t]
    assert sorted(odd) == ["Are there <Object> and <Object> sound? ", "How many sounding <Object> in the video？",
                           "What kind of instrument is the <LRer> instrument? "]
    assert {normalise_template(t) for t in templates} == set(PROMPTS)   # one prompt per template, none unused


def test_full_width_and_trailing_space_variants_match():
    assert build_prompt("How many sounding <Object> in the video？", ["cello"]) == "The cello is playing in the video."
    assert build_prompt("Are there <Object> and <Object> sound? ", ["flute", "piano"]) == \
        "There are flute and piano sounds in the video."
    assert build_prompt("What kind of instrument is the <LRer> instrument? ", ["leftest"]) == \
        "The leftest instrument is playing in the video."


def test_the_swapped_template_puts_each_value_in_its_own_slot():
    # values come in template order: <LR> first, then <FL>; the released prompt put "first" after "on the"
    prompt = build_prompt("What is the <LR> instrument of the <FL> sounding instrument?", ["right", "last"])
    assert prompt == "There is a musical instrument on the right of the last sounding instrument."
    prompt = build_prompt("Is the <FL> sound coming from the <LR> instrument?", ["first", "left"])
    assert prompt == "The first sound comes from the left instrument."
    two = build_prompt("Is the <Object> on the <LR> louder than the <Object> on the <LR>?",
                       ["piano", "left", "guzheng", "right"])
    assert two == "The piano on the left and the guzheng on the right play at different volumes."


def test_unknown_template_or_wrong_values_are_errors_naming_the_template():
    with pytest.raises(PromptError, match="'Why is the sky blue\\?' has no declarative prompt"):
        build_prompt("Why is the sky blue?", [])
    with pytest.raises(PromptError, match="has 2 slots but 1 values"):
        build_prompt("Is the <Object> louder than the <Object>?", ["piano"])
