"""Scoring: batched prediction, per-question-type metrics, the answer prior, score tables and
the model card; the paper's experiment suite (which runs each of its tables needs, its numbers,
tables of mean ± sd over seeds beside them, Fig. 5(b), the cost plan).

May import: mcd_core.common, mcd_core.features, mcd_core.data, mcd_core.models.
"""
