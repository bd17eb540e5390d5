"""Loaders: each DDP rank reads its own items, validation is not padded, epochs resume exactly."""

import pytest
import torch

from seqmodels.data import loaders
from seqmodels.data.loaders import ResumableLoader
from seqmodels.errors import UserError


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
    assert state == {"batches_done": 2, "epoch": 0}

    resumed = ResumableLoader(Numbers(10), batch_size=3, training=True)
    resumed.load_state_dict(state)
    rest = items(resumed)
    assert [int(x) for b in consumed for x in b] + rest == list(range(10))
    assert resumed.state_dict() == {"batches_done": 4, "epoch": 0}
    # the next epoch starts from the beginning again
    assert items(resumed) == list(range(10))


def test_shuffled_ranks_read_disjoint_shares_of_one_seeded_order(monkeypatch):
    def shares(epoch: int) -> list[list[int]]:
        out = []
        for rank in range(2):
            as_rank(monkeypatch, rank, 2)
            loader = ResumableLoader(Numbers(10), batch_size=2, training=True, shuffle_seed=7)
            loader.sampler.set_epoch(epoch)
            out.append(items(loader))
        return out

    first = shares(0)
    assert not set(first[0]) & set(first[1]) and len(first[0]) == len(first[1]) == 5
    assert sorted(first[0] + first[1]) == list(range(10)) and first[0] + first[1] != list(range(10))
    assert shares(0) == first  # the same order again for the same (seed, epoch)
    assert shares(1) != first  # a new one next epoch


def test_a_shuffled_epoch_resumes_mid_way():
    loader = ResumableLoader(Numbers(12), batch_size=3, training=True, shuffle_seed=1)
    loader.sampler.set_epoch(4)
    whole = items(loader)
    iterator = iter(loader)
    head = [int(x) for x in next(iterator)]
    resumed = ResumableLoader(Numbers(12), batch_size=3, training=True, shuffle_seed=1)
    resumed.load_state_dict(loader.state_dict())  # the epoch travels with the state
    assert head + items(resumed) == whole
    assert len(resumed) == 4  # Lightning counts a resumed epoch's batches from its start


def test_a_state_saved_at_the_end_of_an_epoch_starts_the_next_one_whole():
    loader = ResumableLoader(Numbers(6), batch_size=3, training=True)
    assert items(loader) == list(range(6))
    resumed = ResumableLoader(Numbers(6), batch_size=3, training=True)
    resumed.load_state_dict(loader.state_dict())
    assert items(resumed) == list(range(6))


def test_items_that_are_whole_batches_resume_by_item():
    loader = ResumableLoader(Numbers(5), batch_size=None, training=True)
    iterator = iter(loader)
    next(iterator), next(iterator)
    resumed = ResumableLoader(Numbers(5), batch_size=None, training=True)
    resumed.load_state_dict(loader.state_dict())
    assert [int(x) for x in resumed] == [2, 3, 4]


def test_negative_workers_is_a_user_error():
    with pytest.raises(UserError, match="data.num_workers must be 0 or more"):
        ResumableLoader(Numbers(5), batch_size=2, training=True, num_workers=-1)
