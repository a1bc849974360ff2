"""Questions for training and scoring: dataset formats (one module each, under `formats/`),
vocabularies, and the torch dataset that joins questions with feature-store rows.

May import: mcd_core.common, mcd_core.features.
"""
