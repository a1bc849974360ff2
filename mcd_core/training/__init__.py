"""Training: the run configuration, the epoch loop with best-on-val selection, checkpoints that
resume bit-exactly, curves, and the file-level entry point used by `mcd train`.

May import: mcd_core.common, mcd_core.features, mcd_core.data, mcd_core.models, mcd_core.scoring.
"""
