"""Shared ground: atomic (temp-then-rename) writes, the compute-device choice, helper processes
that die with their parent, and the check that a video id is a safe file name.

May import: nothing of mcd_core.
"""
