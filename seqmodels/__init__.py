"""seqmodels: long-sequence models for DNA and raw audio on selective state spaces."""

__version__ = "0.1.0"
