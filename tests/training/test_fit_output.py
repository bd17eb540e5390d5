"""What a quick fit prints: none of the library messages that tell a user nothing (metrics
computed on every batch, Lightning's deprecation inside its own data loading, its tips, the
checkpoint-saving note), and its tables whole when the output is a pipe."""

import logging
import re
import warnings

import pytest

from seqmodels.cli import main

pytestmark = pytest.mark.usefixtures("isolated")

NOISE = [
    r"No (positive|negative) samples in targets",  # torchmetrics, AUROC of one small batch
    r"isinstance\(treespec, LeafSpec\)",  # torch, about Lightning's CombinedLoader
    r"`weights_only` was not set",  # Lightning, at a checkpoint saved without saying what
    r"Tip: For seamless cloud",  # Lightning's advertisement of its cloud services
]


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_quick_fit_prints_no_library_noise(quick, capsys):
    recorder = Recorder()
    # Lightning's loggers print through their own handlers and do not propagate to the root
    loggers = [logging.getLogger(name) for name in ("lightning.pytorch", "lightning.fabric")]
    for logger in loggers:
        logger.addHandler(recorder)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # also what an earlier test already triggered once
            # every epoch holds every class, the sanity check's two batches of validation
            # windows (in class order) too: a missing class is a real warning
            overrides = quick(
                "data.train_samples_per_epoch=32",
                "data.val_windows_per_class=1",
                "data.test_windows_per_class=4",
                "trainer.max_steps=8",
                "run_root=quiet",
            )
            assert main(["fit", *overrides]) == 0
    finally:
        for logger in loggers:
            logger.removeHandler(recorder)
    said = [str(w.message) for w in caught] + recorder.messages
    for pattern in NOISE:
        assert not [m for m in said if re.search(pattern, m)], pattern
    out = capsys.readouterr().out
    assert "…" not in out  # every table whole, although stdout is not a terminal
    assert "klebsiella_pneumoniae" in out and "staphylococcus_aureus" in out
