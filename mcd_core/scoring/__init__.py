"""Scoring: batched prediction, per-question-type metrics, the answer prior, score tables and
the model card.

May import: mcd_core.common, mcd_core.features, mcd_core.data, mcd_core.models.
"""
