"""What the Snakefile needs at parse time: the validated configuration with its defaults, the
settings of each dataset, its video ids and shards. Imports no torch.

May import: mcd_core.common, mcd_core.media (video file names and failure records),
mcd_core.features (the torch-free weights-file lookup and table of the streams each backbone writes), mcd_core.data, mcd_core.models, mcd_core.training (its torch-free config and files modules only at
check time), mcd_core.scoring (the torch-free peers table: which stores a peer run reads).
"""

from mcd_core.workflow.config import (AUDIO_RATES, CLIP_BACKBONES, RECIPE_KEYS, SECTIONS, ConfigError,
                                      audio_sample_rate, audio_store_backbone, audio_store_name, carve_paths, extra_for_variant, imported_backbone, load_schema,
                                      validate_config, weights_dir)
from mcd_core.data.questions import DUPLICATES_REPORTED_ENV, AnnotationError
from mcd_core.workflow.datasets import (DatasetNotReadyError, DatasetSettings, annotation_video_ids,
                                        check_annotations, check_dataset_ready, check_video_free, check_videos_found, dataset_settings,
                                        dataset_video_ids, dataset_warnings, datasets_to_check, demo_video_ids,
                                        make_shards, missing_video_ids, shard_names)

__all__ = ["AUDIO_RATES", "DUPLICATES_REPORTED_ENV", "CLIP_BACKBONES", "audio_sample_rate", "audio_store_backbone", "audio_store_name", "carve_paths", "RECIPE_KEYS", "SECTIONS", "AnnotationError", "ConfigError", "DatasetNotReadyError",
           "DatasetSettings", "annotation_video_ids", "check_annotations", "check_dataset_ready", "check_video_free", "check_videos_found",
           "datasets_to_check", "dataset_settings", "dataset_warnings", "dataset_video_ids", "demo_video_ids",
           "extra_for_variant", "imported_backbone", "load_schema", "make_shards", "missing_video_ids", "shard_names",
           "validate_config", "weights_dir"]
