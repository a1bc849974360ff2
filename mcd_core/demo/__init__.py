"""The synthetic demo dataset: scenes, their rendered videos with sound, and MUSIC-AVQA-format
questions about them.

May import: mcd_core.common, mcd_core.media, mcd_core.data.
"""
