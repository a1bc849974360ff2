"""mcd_core: Mutual Correlation Distillation (MCD) for audio-visual question answering.

Layering (data flows one way): media, backbones, store, models, config at the ground floor;
data and extract above them; then metrics, evaluate, train; the cli on top.
"""

__version__ = "0.1.0"
