"""Feature extraction: backbones (registry, weights, VGGish, PANNs, visual nets), the VGGish
log-mel front end, visual and audio extraction per shard, and the Zarr feature-store layout, merge,
and each store's chunk manifest (readers' check, `mcd verify`).

May import: mcd_core.common, mcd_core.media.
"""
