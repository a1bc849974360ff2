"""Every backbone's weight source, registered: the backbone modules register theirs on import.

Kept apart from `weights.py` (which the backbone modules import) so that no import runs in a circle.
"""

from __future__ import annotations


def load_all_registries() -> None:
    """Import the backbone modules, which register their weight sources."""
    from mcd_core.features.backbones import audio, text, tokens, visual  # noqa: F401
