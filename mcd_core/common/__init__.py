"""Shared ground: atomic (temp-then-rename) writes, the compute-device choice, helper processes
that die with their parent, the check that a video id is a safe file name, and the one-line
reason why a weights-only torch.load refused a file.

May import: nothing of mcd_core.
"""
