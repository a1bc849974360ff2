"""Layers, question encoder, heads and losses shared by the architectures.

May import: mcd_core.common.
"""
