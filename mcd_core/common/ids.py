"""Ids read from files: video ids as file names, question ids as 64-bit integers. Every id read
from an annotation file, a shard list or the command line passes these checks before it names a
file, reaches a shard list or becomes a tensor."""

from __future__ import annotations

import unicodedata

# Question ids become int64 tensors and int64 Zarr arrays.
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1
# Room for the longest suffix a video id gets (`.failures.json`, a container extension) within the
# 255-byte file-name limit of common file systems.
MAX_VIDEO_ID_BYTES = 200
# Control characters (Cc: NUL, newline, tab, C1 such as U+0085), line and paragraph separators
# (which str.splitlines also splits on) and lone surrogates (which cannot be written as UTF-8).
_REFUSED_CATEGORIES = {"Cc", "Zl", "Zp", "Cs"}


def video_id_problem(video_id: object) -> str | None:
    """What makes `video_id` unusable as the name of a file in the videos folder (None: nothing).

    Ids come from annotation files, that is from the internet: an id must not reach outside the
    videos folder (`/`, `..`), name the folder itself (`.`), nor break the one-id-a-line shard
    lists (control characters, line separators, or blanks at either end)."""
    if not isinstance(video_id, str):
        return f"must be a string, got {type(video_id).__name__} {video_id!r}"
    if not video_id:
        return "is empty"
    if "/" in video_id or "\\" in video_id:
        return "contains a path separator ('/' or '\\')"
    if video_id == ".":
        return "is '.' (the folder itself)"
    if ".." in video_id:
        return "contains '..'"
    bad = next((c for c in video_id if unicodedata.category(c) in _REFUSED_CATEGORIES), None)
    if bad is not None:
        return f"contains a control character or line separator (U+{ord(bad):04X})"
    if video_id != video_id.strip():
        return "begins or ends with blanks"
    if len(video_id.encode("utf-8")) > MAX_VIDEO_ID_BYTES:
        return f"is longer than {MAX_VIDEO_ID_BYTES} bytes (a file name's limit, with its suffixes)"
    return None


def question_id_problem(question_id: object) -> str | None:
    """What keeps `question_id` from being a question id (None: nothing): an int (not a bool; JSON
    floats such as 7.0 and strings are refused, as the formats always did) within int64."""
    if isinstance(question_id, bool) or not isinstance(question_id, int):
        return f"must be an integer, got {question_id!r}"
    if not INT64_MIN <= question_id <= INT64_MAX:
        return f"{question_id} is outside the 64-bit integer range [-2**63, 2**63 - 1]"
    return None


def avqa_demo_video_id(index: int) -> str:
    """Video `index` (0-based) of an AVQA-format demo dataset, named like a VGGSound clip
    (`<11-char id>_<start, 6 digits>`), its id beginning with '-' as some real ones do."""
    return f"-demo{index + 1:06d}_{10 * (index % 30):06d}"
