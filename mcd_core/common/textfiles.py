"""Reading a text file that came from elsewhere (annotations, predictions, lists): bytes that are
not UTF-8 are one error naming the file and the byte offset, not a UnicodeDecodeError."""

from __future__ import annotations

import os
from pathlib import Path


class TextFileError(ValueError):
    """A text file cannot be read or is not UTF-8; the message names the file and where."""


def read_text_file(path: str | os.PathLike, what: str, error: type[Exception] = TextFileError) -> str:
    """The UTF-8 text of `path` (a leading byte-order mark dropped); `error(message)` naming the file,
    and for bad bytes the offset and line, otherwise. A missing file raises FileNotFoundError, which
    callers turn into their own message. `what` names the file's role, e.g. "annotation file"."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise error(f"{path}: {what} is a folder, not a file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(f"{path}: {what} is not UTF-8 text: byte 0x{data[exc.start]:02x} at byte offset "
                    f"{exc.start} (line {line}); save it as UTF-8") from None
    return text.removeprefix("\ufeff")
