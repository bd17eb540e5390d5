"""Loaders: each DDP rank reads its own items, validation is not padded, epochs resume exactly."""

import pytest
import torch

from seqmodels.data import loaders
from seqmodels.data.loaders import ResumableLoader


class Numbers(torch.utils.data.Dataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> int:
        return index


def items(loader) -> list[int]:
    return [int(x) for batch in loader for x in batch]


def as_rank(monkeypatch, rank: int, world: int) -> None:
    monkeypatch.setattr(loaders, "_rank_and_world", lambda: (rank, world))


def test_single_process_reads_everything_in_order():
    assert items(ResumableLoader(Numbers(10), batch_size=3, training=True)) == list(range(10))


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_ranks_read_disjoint_items(monkeypatch, training):
    shares = []
    for rank in range(3):
        as_rank(monkeypatch, rank, 3)
        shares.append(items(ResumableLoader(Numbers(10), batch_size=2, training=training)))
    assert all(not set(a) & set(b) for a in shares for b in shares if a is not b)
    if training:  # the same number of steps on every rank: the remainder is left out
        assert [len(s) for s in shares] == [3, 3, 3]
    else:  # every item exactly once: nothing padded, nothing double-counted
        assert sorted(sum(shares, [])) == list(range(10))


def test_resumed_epoch_continues_where_the_interrupted_one_stopped():
    loader = ResumableLoader(Numbers(10), batch_size=3, training=True)
    iterator = iter(loader)
    consumed = [next(iterator), next(iterator)]
    state = loader.state_dict()
    assert state == {"batches_done": 2}

    resumed = ResumableLoader(Numbers(10), batch_size=3, training=True)
    resumed.load_state_dict(state)
    rest = items(resumed)
    assert [int(x) for b in consumed for x in b] + rest == list(range(10))
    assert resumed.state_dict() == {"batches_done": 4}
    # the next epoch starts from the beginning again
    assert items(resumed) == list(range(10))
