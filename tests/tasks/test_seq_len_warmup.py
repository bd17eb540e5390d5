"""The sequence-length warmup: the schedule, and the batches a training run really gets."""

import random

import lightning as L
import pytest
import torch

from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.data.dna.pretrain import ShapedBatches
from seqmodels.data.dna.windows import RandomWindowDataset
from seqmodels.errors import UserError
from seqmodels.tasks.seq_len_warmup import SequenceLengthWarmup, warmup_stages


def test_lengths_double_and_batches_halve_up_to_the_full_length():
    assert warmup_stages(64, 512, 4) == [(32, 64), (16, 128), (8, 256), (4, 512)]
    assert warmup_stages(100, 300, 3) == [(9, 100), (4, 200), (3, 300)]
    assert warmup_stages(512, 512, 4) == [(4, 512)]
    with pytest.raises(UserError, match="warmup.min_len"):
        warmup_stages(1024, 512, 4)


def test_stages_last_epochs_per_stage_epochs_then_stay_at_full_length():
    callback = SequenceLengthWarmup(min_len=16, max_len=64, batch_size=2, epochs_per_stage=2)
    assert [callback.shape(epoch)[1] for epoch in range(8)] == [16, 16, 32, 32, 64, 64, 64, 64]


class ShapeRecorder(L.LightningModule):
    """Records the shape of every training batch; learns nothing worth keeping."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(()))
        self.shapes: list[tuple[int, int]] = []

    def training_step(self, batch, batch_idx):
        self.shapes.append(tuple(batch["tokens"].shape))
        return self.weight * batch["tokens"].float().mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_training_batches_follow_the_schedule(tmp_path):
    fasta = tmp_path / "g.fa"
    fasta.write_text(">r\n" + "".join(random.Random(0).choices("ACGT", k=2000)) + "\n")
    store = GenomeStore.open(fasta, tmp_path / "cache")
    rows = warmup_stages(8, 32, 2)[0][0]
    windows = RandomWindowDataset([store], "train", 32, 3 * rows, fractions=(1.0, 0.0, 0.0))
    batches = ShapedBatches(windows, batches=3, max_rows=rows)
    module = ShapeRecorder()
    trainer = L.Trainer(
        max_epochs=4,
        callbacks=[SequenceLengthWarmup(min_len=8, max_len=32, batch_size=2)],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, torch.utils.data.DataLoader(batches, batch_size=None))
    assert module.shapes == [(8, 8)] * 3 + [(4, 16)] * 3 + [(2, 32)] * 6
    # a shorter batch holds the first bases of the windows the full-length batch would hold
    batches.set_shape(rows, 32)
    full = batches[1]["tokens"]
    batches.set_shape(4, 16)
    assert torch.equal(batches[1]["tokens"], full[:4, :16])
