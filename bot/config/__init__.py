"""Config: the YAML a brand team edits, as typed immutable models with file:line errors."""
from .loader import Config, load_config

__all__ = ["Config", "load_config"]
