"""One line for why `torch.load(..., weights_only=True)` could not read a file.

torch's own message for a refused object spans several lines, with terminal colour codes, and
advises loading it again without the weights-only restriction: the very step that would run the
file's code. The line kept here names what the file tried to create instead.
"""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# torch's weights-only unpickler names the refused global or function after this prefix
_REFUSED = re.compile(r"WeightsUnpickler error:\s*(.*)", re.S)


def load_error_line(exc: BaseException) -> str:
    """`exc` from a weights-only torch.load, as one short line without torch's advice."""
    text = _ANSI.sub("", str(exc)).strip()
    refused = _REFUSED.search(text)
    if refused:
        what = next((line.strip() for line in refused.group(1).splitlines() if line.strip()), "")
        if what.startswith("Unsupported operand"):   # bytes that are no pickle at all: damage, not code
            return f"its bytes are not a torch file ({what})"
        what = what.split(" was not an allowed global")[0].split(". Please use")[0]
        return (f"it holds objects other than tensors and plain data ({what.strip()}), "
                f"refused as loading them could run code")
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:300]
