"""Shared ground: atomic (temp-then-rename) writes and the compute-device choice.

May import: nothing of mcd_core.
"""
