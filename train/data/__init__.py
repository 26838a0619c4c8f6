"""Motion/text datasets in the HumanML3D on-disk layout (public HumanML3D, KIT-ML, and our procedural data)."""
from train.data.collate import collate_motion_text
from train.data.humanml3d import (HUMANML3D_SPEC, SPLITS, DatasetSpec, LoadReport, MotionTextDataset, Sample,
                                  crop_length, load_mean_std, load_samples, read_split_ids)
from train.data.kit import KIT_SPEC, kit_dataset
from train.data.stats import compute_mean_std
from train.data.texts import CaptionLine, mirror_caption_line, mirror_text, parse_caption_line, read_caption_file

__all__ = [
    "collate_motion_text", "HUMANML3D_SPEC", "KIT_SPEC", "SPLITS", "DatasetSpec", "LoadReport", "MotionTextDataset",
    "Sample", "crop_length", "load_mean_std", "load_samples", "read_split_ids", "kit_dataset", "compute_mean_std",
    "CaptionLine", "mirror_caption_line", "mirror_text", "parse_caption_line", "read_caption_file",
]
