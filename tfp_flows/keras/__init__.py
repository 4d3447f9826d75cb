"""Keras 3 training of tfp_flows distributions."""

from tfp_flows.keras.distributed import fit_distributed
from tfp_flows.keras.flow_model import FlowModel
from tfp_flows.keras.saving import load_model

__all__ = ["FlowModel", "fit_distributed", "load_model"]
