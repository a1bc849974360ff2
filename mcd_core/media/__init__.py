"""Media decoding: the ffmpeg binary, probing, 1-fps centre frames, 16 kHz mono audio, the
per-shard frame and audio folders, and the shard runner with its failure records.

May import: mcd_core.common.
"""
