"""mcd_core: Mutual Correlation Distillation (MCD) for audio-visual question answering.

One subpackage per stage, data flowing one way: media -> features -> data -> models -> scoring ->
training, with common at the bottom, workflow (what the Snakefile reads) and cli on top, and demo
beside them. docs/design.md draws the house; each subpackage's docstring says what it owns.
"""

__version__ = "0.1.0"
