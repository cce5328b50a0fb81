"""replicate: regenerate the tables and figures of transformer-interpretability papers."""

__version__ = "0.1.0"
