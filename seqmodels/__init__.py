"""seqmodels: long-sequence models for DNA and raw audio on selective state spaces.

import seqmodels
model = seqmodels.load("runs/dna_species/latest")
model.predict_fasta("genome.fa")
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # Imported on first use, so that `seqmodels --help` does not wait for torch.
    if name in ("load", "Pretrained"):
        from seqmodels import api

        return getattr(api, name)
    raise AttributeError(f"module 'seqmodels' has no attribute {name!r}")
