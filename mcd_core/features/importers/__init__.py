"""Feature files that users already have, imported into our stores (`mcd import-features`):
AVQA's official HDF5 files, the MUSIC-AVQA baselines' per-video `.npy` folders, TSPM's per-question
`.npy` folders, and finished stores. `layouts.py` lists them (torch- and h5py-free); `sources.py`
reads each family; `run.py` checks every row and writes the store.
"""

from mcd_core.features.importers.layouts import (LAYOUTS, PREFIX, Layout, LayoutError, check_stream, get_layout,
                                                 importable_streams)

__all__ = ["LAYOUTS", "PREFIX", "Layout", "LayoutError", "check_stream", "get_layout", "importable_streams"]
