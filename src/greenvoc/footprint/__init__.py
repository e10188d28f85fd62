"""Training footprints of published models, everyday equivalents and the literature survey."""

from greenvoc.footprint.calculator import Footprint, estimate_training_footprint
from greenvoc.footprint.gpus import gpu_board_power_w, load_gpu_table, lookup_gpu
from greenvoc.footprint.published import PublishedModel, load_published_models, lookup_model
from greenvoc.footprint.survey import MEASURES, energy_studies, load_papers, measure_shares

__all__ = [
    "MEASURES",
    "Footprint",
    "PublishedModel",
    "energy_studies",
    "estimate_training_footprint",
    "gpu_board_power_w",
    "load_gpu_table",
    "load_papers",
    "load_published_models",
    "lookup_gpu",
    "lookup_model",
    "measure_shares",
]
