"""Region splits, tiling and the window datasets, on small synthetic genomes.

The genomes are written so that a window tells where it came from: in class "alpha" every
record's train, val and test regions are each one repeated letter, so a window that crossed a
region boundary would mix letters.
"""

import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.data.dna.tokens import N_ID, decode, reverse_complement
from seqmodels.data.dna.windows import (
    FixedWindowDataset,
    RandomWindowDataset,
    split_regions,
    tile_record,
)
from seqmodels.errors import UserError

SEQ_LEN = 50
NAMES = ["alpha", "beta"]


def random_bases(n: int, seed: int) -> str:
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), n))


GENOMES = {
    # Train region A (r1) or T (r2), val C, test G; r3 is shorter than a window and is skipped.
    "alpha": {
        "r1": "A" * 800 + "C" * 100 + "G" * 100,
        "r2": "T" * 7200 + "C" * 900 + "G" * 900,
        "r3": "ACGT" * 7,
    },
    # A long run of N at the start of the train region, random bases elsewhere.
    "beta": {"b1": "N" * 800 + random_bases(1200, seed=1)},
    "all_n": {"n1": "N" * 1000},
}


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, GenomeStore]:
    folder = tmp_path_factory.mktemp("genomes")
    result = {}
    for name, records in GENOMES.items():
        path = folder / f"{name}.fa"
        path.write_text("".join(f">{rid}\n{seq}\n" for rid, seq in records.items()))
        result[name] = GenomeStore.open(path, cache_dir=folder / "cache")
    return result


def make_random(stores, names=NAMES, split="train", **kwargs) -> RandomWindowDataset:
    kwargs = {"samples_per_epoch": 200, "rc_prob": 0.0, **kwargs}
    return RandomWindowDataset(
        [stores[n] for n in names], split, SEQ_LEN, class_names=names, **kwargs
    )


def make_fixed(stores, names=NAMES, split="val", **kwargs) -> FixedWindowDataset:
    kwargs = {"windows_per_class": 20, **kwargs}
    return FixedWindowDataset(
        [stores[n] for n in names], split, SEQ_LEN, class_names=names, **kwargs
    )


def test_split_regions_are_contiguous_and_cover_the_record():
    assert split_regions(1000) == {"train": (0, 800), "val": (800, 900), "test": (900, 1000)}
    for length in (0, 1, 7, 999, 12345):
        for fractions in ((0.8, 0.1, 0.1), (0.5, 0.5, 0.0), (1.0, 0.0, 0.0), (1 / 3, 1 / 3, 1 / 3)):
            regions = split_regions(length, fractions)
            assert regions["train"][0] == 0 and regions["test"][1] == length
            assert (
                regions["train"][1] == regions["val"][0] <= regions["val"][1] == regions["test"][0]
            )


@pytest.mark.parametrize("fractions", [(0.8, 0.2), (0.8, 0.3, 0.1), (1.2, -0.1, -0.1)])
def test_bad_split_fractions(fractions):
    with pytest.raises(UserError, match="data.split"):
        split_regions(100, fractions)


def test_tile_record():
    assert tile_record(10, 4, 3) == [(0, 4), (3, 7), (6, 10)]
    assert tile_record(10, 4, 4) == [(0, 4), (4, 8), (6, 10)]
    assert tile_record(8, 4, 4) == [(0, 4), (4, 8)]
    assert tile_record(4, 4, 1) == [(0, 4)]
    assert tile_record(3, 4, 2) == [(0, 3)]
    for length, window, stride in ((1000, 64, 64), (1001, 64, 17), (65, 64, 1)):
        tiles = tile_record(length, window, stride)
        covered = np.zeros(length, dtype=bool)
        for start, end in tiles:
            assert end - start == window
            covered[start:end] = True
        assert covered.all()
    with pytest.raises(ValueError):
        tile_record(10, 4, 5)


def test_windows_stay_inside_their_split(stores):
    expected = {"train": {"A" * SEQ_LEN, "T" * SEQ_LEN}, "val": {"C" * SEQ_LEN}}
    expected["test"] = {"G" * SEQ_LEN}
    for split, letters in expected.items():
        random = make_random(stores, ["alpha"], split)
        fixed = make_fixed(stores, ["alpha"], split)
        seen = {decode(item["tokens"]) for item in [*random, *fixed]}
        assert seen == letters, split


def test_records_are_drawn_in_proportion_to_usable_length(stores):
    dataset = make_random(stores, ["alpha"], samples_per_epoch=2000)
    from_r1 = sum(decode(item["tokens"][:1]) == "A" for item in dataset) / len(dataset)
    expected = (800 - SEQ_LEN + 1) / ((800 - SEQ_LEN + 1) + (7200 - SEQ_LEN + 1))
    assert abs(from_r1 - expected) < 0.03


def test_items_are_balanced_long_tensors(stores):
    dataset = make_random(stores, samples_per_epoch=400)
    labels = [item["label"] for item in dataset]
    assert 150 < labels.count(0) < 250
    item = dataset[0]
    assert item["tokens"].dtype == torch.int64 and item["tokens"].shape == (SEQ_LEN,)
    assert isinstance(item["label"], int)
    with pytest.raises(IndexError):
        dataset[400]


def test_random_windows_depend_on_seed_epoch_and_index(stores):
    def windows(dataset):
        return [(item["tokens"].tolist(), item["label"]) for item in dataset]

    first, again = make_random(stores), make_random(stores)
    assert windows(first) == windows(again)
    assert windows(first) != windows(make_random(stores, seed=1))
    again.set_epoch(1)
    assert windows(first) != windows(again)
    again.set_epoch(0)
    assert windows(first) == windows(again)


def test_fixed_windows_are_fixed_by_the_seed(stores):
    first, again = make_fixed(stores), make_fixed(stores)
    assert first.windows == again.windows
    assert all(torch.equal(a["tokens"], b["tokens"]) for a, b in zip(first, again, strict=True))
    assert first.windows != make_fixed(stores, seed=1).windows
    assert [label for label, _, _ in first.windows] == [0] * 20 + [1] * 20


def test_fixed_windows_spread_over_records(stores):
    dataset = make_fixed(stores, ["alpha"], "train", windows_per_class=100)
    records = [record for _, record, _ in dataset.windows]
    assert 3 <= records.count(0) <= 20  # r1 has about 9% of the usable starts
    assert 2 not in records  # r3 is shorter than a window


def n_fractions(dataset) -> np.ndarray:
    return np.array([(item["tokens"] == N_ID).float().mean().item() for item in dataset])


def test_windows_with_too_many_n_are_skipped(stores):
    for dataset in (make_random(stores, ["beta"]), make_fixed(stores, ["beta"], "train")):
        assert n_fractions(dataset).max() <= 0.1
    unfiltered = make_random(stores, ["beta"], max_n_frac=1.0)
    assert n_fractions(unfiltered).max() == 1.0


def test_all_n_genome_is_a_user_error(stores):
    dataset = make_random(stores, ["alpha", "all_n"])
    with pytest.raises(UserError, match="'all_n'.*data.max_n_frac"):
        [dataset[i] for i in range(20)]  # about half of them are all_n
    with pytest.raises(UserError, match="'all_n'.*data.max_n_frac"):
        make_fixed(stores, ["alpha", "all_n"])


def test_region_shorter_than_a_window_is_a_user_error(stores):
    with pytest.raises(UserError, match="'beta' has no val region.*data.seq_len=50"):
        make_fixed(stores, ["alpha", "beta"], fractions=(0.96, 0.02, 0.02))


def test_reverse_complement_augmentation_flips_some_windows(stores):
    plain = make_random(stores, ["beta"], rc_prob=0.0)
    augmented = make_random(stores, ["beta"], rc_prob=0.5)
    flipped = 0
    for a, b in zip(plain, augmented, strict=True):
        if not torch.equal(a["tokens"], b["tokens"]):
            assert torch.equal(reverse_complement(a["tokens"]), b["tokens"])
            flipped += 1
    assert 0.3 < flipped / len(plain) < 0.7


def test_window_as_long_as_the_region(stores):
    dataset = RandomWindowDataset([stores["alpha"]], "val", 900, 5, rc_prob=0.0)
    assert {decode(item["tokens"]) for item in dataset} == {"C" * 900}


def test_datasets_pickle_small(stores):
    for dataset in (make_random(stores), make_fixed(stores)):
        data = pickle.dumps(dataset)
        assert len(data) < 10_000
        copy = pickle.loads(data)
        assert torch.equal(copy[3]["tokens"], dataset[3]["tokens"])


def test_epoch_reaches_persistent_workers(stores):
    dataset = make_random(stores, samples_per_epoch=4)
    loader = DataLoader(dataset, batch_size=4, num_workers=1, persistent_workers=True)
    for epoch in (0, 1):
        dataset.set_epoch(epoch)
        batch = next(iter(loader))
        expected = torch.stack([item["tokens"] for item in dataset])
        assert torch.equal(batch["tokens"], expected)
