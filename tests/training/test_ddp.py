"""Two processes on the CPU (`trainer.strategy=ddp trainer.devices=2 trainer.accelerator=cpu`,
gloo): one run directory, each rank trains on its own windows, and every validation and test
window is scored exactly once (not padded, not double-counted)."""

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from ddp_record_fit import fingerprint

from seqmodels.cli import compose_config
from seqmodels.tasks import dna_species

DRIVER = Path(__file__).with_name("ddp_record_fit.py")
# 8 training windows per rank (2 batches of 4); 15 validation windows: 8 on rank 0, 7 on rank 1
RUN = (
    "data.train_samples_per_epoch=16",
    "data.val_windows_per_class=3",
    "data.test_windows_per_class=3",
    "trainer.max_steps=4",
)
DDP = ["trainer.strategy=ddp", "trainer.devices=2", "trainer.accelerator=cpu"]


def items(dataset) -> Counter:
    return Counter(fingerprint(item["tokens"], item["label"]) for item in dataset)


@pytest.mark.slow  # two training processes: .ci/run runs it
def test_ddp_on_two_cpu_processes(tmp_path, quick):
    overrides = quick(*RUN)
    records = tmp_path / "records"
    records.mkdir()
    env = {**os.environ, "RECORD_DIR": str(records), "SEQMODELS_CACHE": str(tmp_path / "cache")}
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "NODE_RANK", "SEQMODELS_RUN_DIR"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, str(DRIVER), "fit", *overrides, *DDP, "run_root=runs"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]

    runs = [p for p in (tmp_path / "runs" / "dna_species").iterdir() if p.name != "latest"]
    assert len(runs) == 1  # both processes wrote into one run directory
    run = runs[0]
    for name in ("config.yaml", "metrics.csv", "checkpoints/best.ckpt", "model/model.safetensors"):
        assert (run / name).is_file(), name

    seen: dict[tuple[int, str, str], Counter] = {}  # (rank, stage, epoch) → windows
    for rank in (0, 1):
        for line in (records / f"rank{rank}.txt").read_text().splitlines():
            stage, epoch, window = line.split()
            seen.setdefault((rank, stage, epoch), Counter())[window] += 1

    cfg = compose_config(overrides)
    datamodule = dna_species.build_datamodule(cfg)
    datamodule.setup("validate")
    datamodule.setup("test")
    val, test = items(datamodule.val_dataset), items(datamodule.test_dataset)
    for epoch in ("0", "1"):
        train0, train1 = seen[(0, "train", epoch)], seen[(1, "train", epoch)]
        assert sum(train0.values()) == sum(train1.values()) == 8  # equal shares, 2 steps each
        assert not train0.keys() & train1.keys()  # different windows on each rank
        val0, val1 = seen[(0, "validate", epoch)], seen[(1, "validate", epoch)]
        assert (sum(val0.values()), sum(val1.values())) == (8, 7)
        assert val0 + val1 == val  # every validation window once
    tested = [sum((c for k, c in seen.items() if k[:2] == (r, "test")), Counter()) for r in (0, 1)]
    assert tested[0] + tested[1] == test and not tested[0].keys() & tested[1].keys()

    # the test metrics count each test window once: the supports add up to the test set
    rows = (run / "per_class_test.tsv").read_text().splitlines()[1:]
    assert sum(int(row.split("\t")[4]) for row in rows) == sum(test.values()) == 15
