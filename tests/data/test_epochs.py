"""Every dataset that changes per epoch reaches persistent DataLoader workers with its epoch.

Each data module's training loader is built as training builds it (persistent workers when
data.num_workers > 0) and read for two epochs, the epoch set on the sampler as Lightning does:
epoch 1 must differ from epoch 0, and both must equal what the same module reads in-process.
"""

import torch

from seqmodels.data.datamodule import DataModule


def two_epochs(module: DataModule) -> list[list[torch.Tensor]]:
    """The training tokens of epochs 0 and 1, read through one loader as Lightning reads them."""
    module.prepare_data()
    module.setup("fit")
    loader = module.train_dataloader()
    epochs = []
    for epoch in (0, 1):
        loader.sampler.set_epoch(epoch)
        epochs.append([batch["tokens"] for batch in loader])
    return epochs


def test_persistent_workers_read_each_epoch_as_the_main_process_does(tiny_module, task):
    in_process = two_epochs(tiny_module(task, num_workers=0))
    module = tiny_module(task, num_workers=2)
    with_workers = two_epochs(module)
    assert module.train_dataloader().persistent_workers
    first, second = in_process
    assert not all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    for epoch, (ours, theirs) in enumerate(zip(with_workers, in_process, strict=True)):
        same = len(ours) == len(theirs) and all(map(torch.equal, ours, theirs))
        assert same, f"epoch {epoch} read with workers differs from the in-process one"
