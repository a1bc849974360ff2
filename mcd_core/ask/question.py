"""Free-form questions: their words, which the run knows, the training template they fit, and the
text objects MCD reads from them. Torch-free.

Words: the question is stripped, one final `?` or `？` is dropped and the rest is split on
whitespace; this is the annotations' tokenisation (`music_avqa.tokenize`) of a question whose slots
are filled. A word is known when the run's vocabulary holds it as written, else in another letter
case (the vocabulary's spelling is then used); other words are reported as unknown and read as
`<unk>`, like an unseen test word. A question without any known word is refused. Words past the
14th are not read (the vocabulary's question length) and are reported.

Type: the question fits a training template when it has the template's number of words and each
word of the template that is not a slot (`<Object>`, `<LR>`, ...) equals its word, letter case
aside; each slot takes one word. Among fitting templates the one with most fixed words wins, then the
most frequent in training. The template gives the question type, whose modality and type words are
the text objects' type tokens, and its slot words are the keywords, as for an annotated question.

Text-object rule for a question that fits no template: it has no type (both type tokens `<pad>`, a
zero embedding, where `<unk>` would be a token never trained) and its keywords are its words that
are text-object words of the vocabulary but not type words (the slot values seen in training:
instruments, left/right, first/last, ...), in question order, without repeats, at most 4.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from mcd_core.ask.errors import AskError
from mcd_core.common.textfiles import read_text_file
from mcd_core.data.questions import Question
from mcd_core.data.vocab import MAX_KEYWORDS, MAX_QUESTION_TOKENS, SPECIALS, Vocab


@dataclass(frozen=True)
class Template:
    text: str                   # question_content as in the annotations
    words: tuple[str, ...]      # its tokenised words, slots kept as written (e.g. "<Object>")
    modality: str               # e.g. "Audio-Visual"
    qtype: str                  # e.g. "Counting"
    count: int                  # training questions with this template

    @property
    def fixed(self) -> int:
        return sum(not is_slot(w) for w in self.words)


@dataclass(frozen=True)
class AskedQuestion:
    text: str                   # as the user wrote it
    words: tuple[str, ...]      # tokens read by the model, in the vocabulary's spelling when known
    unknown: tuple[str, ...]    # words the vocabulary does not hold (read as <unk>)
    ignored: tuple[str, ...]    # words past MAX_QUESTION_TOKENS (not read)
    template: Template | None   # the training template it fits, if any
    keywords: tuple[str, ...]   # text-object keywords (slot words, or the free-form rule)

    @property
    def type_key(self) -> str | None:
        return f"{self.template.modality}/{self.template.qtype}" if self.template else None

    def as_question(self, index: int, video_id: str) -> Question:
        """The annotation record this question would have (no answer)."""
        t = self.template
        return Question(question_id=index, video_id=video_id, modality=t.modality if t else "",
                        qtype=t.qtype if t else "", template=t.text if t else self.text,
                        templ_values=self.keywords, answer="", tokens=self.words)


def is_slot(word: str) -> bool:
    return "<" in word  # the rule of music_avqa.tokenize


def split_words(text: str) -> list[str]:
    text = text.strip()
    if text[-1:] in ("?", "？"):
        text = text[:-1]
    return text.split()


def template_words(template: str) -> tuple[str, ...]:
    """A template's words by the annotations' rule: drop the last character (its '?'), split."""
    words = template.rstrip().split(" ")
    words[-1] = words[-1][:-1]
    return tuple(w for w in words if w)


def collect_templates(questions: Iterable[Question]) -> list[Template]:
    """The distinct templates of the training questions with their type, most frequent first."""
    counts: Counter = Counter((q.template, q.modality, q.qtype) for q in questions)
    return [Template(text, template_words(text), modality, qtype, n)
            for (text, modality, qtype), n in counts.most_common()]


def fits(template: Template, words: list[str]) -> bool:
    return len(template.words) == len(words) and all(
        is_slot(t) or t.lower() == w.lower() for t, w in zip(template.words, words))


def match_template(words: list[str], templates: list[Template]) -> Template | None:
    fitting = [t for t in templates if fits(t, words)]
    return max(fitting, key=lambda t: (t.fixed, t.count), default=None)  # max keeps the first tie


def _spelling(vocab_words: Iterable[str]) -> dict[str, str]:
    """lower-case form -> vocabulary spelling, for words whose lower-case form is unambiguous."""
    by_lower: dict[str, list[str]] = {}
    for w in vocab_words:
        by_lower.setdefault(w.lower(), []).append(w)
    return {k: v[0] for k, v in by_lower.items() if len(v) == 1}


def parse_question(text: str, vocab: Vocab, templates: list[Template],
                   type_words: Iterable[str] = ()) -> AskedQuestion:
    """Words, unknown words, template and keywords of `text`; AskError when nothing is known."""
    raw = split_words(text)
    if not raw:
        raise AskError("the question is empty")
    known = set(vocab.words) - set(SPECIALS)
    spelling = _spelling(known)
    words, unknown = [], []
    for w in raw:
        spelt = w if w in known else spelling.get(w.lower())
        words.append(spelt or w)
        if spelt is None and w not in unknown:
            unknown.append(w)
    read = words[:MAX_QUESTION_TOKENS]
    if not any(w in known for w in read):
        raise AskError(f"no word of the question {text.strip()!r} is in the run's vocabulary "
                       f"({len(known)} training words); ask in the words of the training questions")
    template = match_template(raw, templates)
    objects = set(vocab.object_words) - set(SPECIALS)
    if template is not None:
        keywords = [_object_spelling(w, objects) for t, w in zip(template.words, raw) if is_slot(t)]
    else:
        skip = {w.lower() for w in type_words}
        keywords = []
        for w in raw:
            spelt = _object_spelling(w, objects)
            if spelt in objects and spelt.lower() not in skip and spelt not in keywords:
                keywords.append(spelt)
        keywords = keywords[:MAX_KEYWORDS]
    return AskedQuestion(text.strip(), tuple(words), tuple(unknown), tuple(words[MAX_QUESTION_TOKENS:]),
                         template, tuple(keywords))


def _object_spelling(word: str, objects: set[str]) -> str:
    if word in objects:
        return word
    return _spelling(objects).get(word.lower(), word)


def encode(asked: AskedQuestion, vocab: Vocab, video_id: str = "video") -> dict[str, list[int]]:
    """The text inputs of the model: question, qtype (both <pad> without a template), keywords."""
    q = asked.as_question(0, video_id)
    qtype = vocab.encode_type(q) if asked.template is not None else [0, 0]
    return {"question": vocab.encode_question(q), "qtype": qtype, "keywords": vocab.encode_keywords(q)}


def read_questions_file(path) -> list[str]:
    """Non-empty lines of a text file, `#` lines skipped; AskError naming the file otherwise."""
    try:
        lines = read_text_file(path, "questions file", AskError).splitlines()
    except OSError as exc:
        raise AskError(f"cannot read questions file {path}: {exc}") from None
    questions = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not questions:
        raise AskError(f"questions file {path} holds no question (one per line)")
    return questions
