"""rhi-nlp: themes and honest counts from Return Home Interview narratives."""

__version__ = "0.1.0"

__all__ = ["__version__"]
