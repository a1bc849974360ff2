"""Annotation formats: each module reads one dataset format into `Question`s and declares its
question-type taxonomy and its kind of answer (`base.DatasetFormat`). `get_format(name)` finds a
registered format; the built-in ones register on import.

May import: mcd_core.common, mcd_core.data.questions.
"""

from mcd_core.data.formats.base import (ANSWER_KINDS, FORMATS, Column, DatasetFormat, Taxonomy,
                                        get_format, list_formats, register_format)
from mcd_core.data.formats import music_avqa  # noqa: E402,F401  isort: skip  (registers itself)
from mcd_core.data.formats import avqa  # noqa: E402,F401  isort: skip  (registers itself)

__all__ = ["ANSWER_KINDS", "FORMATS", "Column", "DatasetFormat", "Taxonomy", "get_format",
           "list_formats", "register_format"]
