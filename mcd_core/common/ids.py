"""Video ids as file names: the check every id read from an annotation file passes before it
names a file or reaches a shard list."""

from __future__ import annotations


def video_id_problem(video_id: object) -> str | None:
    """What makes `video_id` unusable as the name of a file in the videos folder (None: nothing).

    Ids come from annotation files, that is from the internet: an id must not reach outside the
    videos folder (`/`, `..`) nor break the one-id-a-line shard lists (control characters, or
    blanks at either end)."""
    if not isinstance(video_id, str):
        return f"must be a string, got {type(video_id).__name__} {video_id!r}"
    if not video_id:
        return "is empty"
    if "/" in video_id or "\\" in video_id:
        return "contains a path separator ('/' or '\\')"
    if ".." in video_id:
        return "contains '..'"
    if any(ord(c) < 32 or ord(c) == 127 for c in video_id):
        return "contains a control character (newline, tab, ...)"
    if video_id != video_id.strip():
        return "begins or ends with blanks"
    return None


def avqa_demo_video_id(index: int) -> str:
    """Video `index` (0-based) of an AVQA-format demo dataset, named like a VGGSound clip
    (`<11-char id>_<start, 6 digits>`), its id beginning with '-' as some real ones do."""
    return f"-demo{index + 1:06d}_{10 * (index % 30):06d}"
