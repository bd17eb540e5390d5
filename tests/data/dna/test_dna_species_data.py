"""The species-classification data module, on the bundled genomes and on small ones."""

from pathlib import Path

import pytest
import torch

from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.data.dna.species import DnaSpeciesDataModule, bundled_genomes
from seqmodels.errors import UserError

SPECIES = [
    "escherichia_coli",
    "helicobacter_pylori",
    "klebsiella_pneumoniae",
    "staphylococcus_aureus",
    "vibrio_cholerae",
]


@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> DnaSpeciesDataModule:
    """The bundled genomes, parsed once for this module into a temporary cache."""
    module = DnaSpeciesDataModule(
        seq_len=512,
        batch_size=8,
        train_samples_per_epoch=64,
        val_windows_per_class=4,
        test_windows_per_class=6,
        cache_dir=tmp_path_factory.mktemp("cache"),
    )
    module.prepare_data()
    return module


def small_genomes(folder: Path) -> dict[str, str]:
    """Two genomes of 2 kb: enough for 100-base windows in every split."""
    genomes = {}
    for name, unit in (("zeta", "ACGGT"), ("alpha", "TTGCA")):
        path = folder / f"{name}.fa"
        path.write_text(f">{name}_chr\n{unit * 400}\n")
        genomes[name] = str(path)
    return genomes


def test_bundled_genomes():
    genomes = bundled_genomes()
    assert list(genomes) == SPECIES
    assert all(path.is_file() for path in genomes.values())
    assert (genomes["escherichia_coli"].parent / "SOURCES.md").is_file()


def test_prepare_data_caches_every_genome(bundled):
    assert all(
        GenomeStore.is_cached(path, bundled.cache_dir) for path in bundled_genomes().values()
    )


def test_bundled_batches(bundled):
    bundled.setup("fit")
    assert bundled.class_names == SPECIES and bundled.num_classes == 5
    batch = next(iter(bundled.train_dataloader()))
    assert batch["tokens"].shape == (8, 512) and batch["tokens"].dtype == torch.int64
    assert batch["label"].shape == (8,)
    assert 0 <= batch["label"].min() and batch["label"].max() < 5
    assert 0 <= batch["tokens"].min() and batch["tokens"].max() <= 5
    val = torch.cat([batch["label"] for batch in bundled.val_dataloader()])
    assert val.tolist() == [label for label in range(5) for _ in range(4)]


def test_bundled_test_stage(bundled):
    bundled.setup("test")
    labels = torch.cat([batch["label"] for batch in bundled.test_dataloader()])
    assert len(labels) == 30


def test_multi_record_genomes_are_one_class(bundled):
    bundled.setup("fit")
    stores = bundled.train_dataset.stores
    assert [len(store.records) for store in stores] == [1, 1, 6, 1, 2]


def test_class_ids_follow_sorted_names(tmp_path):
    module = DnaSpeciesDataModule(
        small_genomes(tmp_path), seq_len=100, batch_size=4, cache_dir=tmp_path / "cache"
    )
    assert module.class_names == ["alpha", "zeta"]
    module.setup("validate")
    batch = next(iter(module.val_dataloader()))
    assert batch["tokens"].shape == (4, 100)
    assert module.val_dataset.stores[0].records[0].id == "alpha_chr"


def test_hydra_style_config_values(tmp_path):
    omegaconf = pytest.importorskip("omegaconf")
    module = DnaSpeciesDataModule(
        omegaconf.OmegaConf.create(small_genomes(tmp_path)),
        seq_len=100,
        split=omegaconf.OmegaConf.create([0.6, 0.2, 0.2]),
        cache_dir=str(tmp_path / "cache"),
    )
    module.setup("fit")
    assert module.class_names == ["alpha", "zeta"]
    assert module.split == (0.6, 0.2, 0.2)


def test_rc_augment_switch(tmp_path):
    genomes = small_genomes(tmp_path)
    on = DnaSpeciesDataModule(genomes, seq_len=100, cache_dir=tmp_path)
    off = DnaSpeciesDataModule(genomes, seq_len=100, rc_augment=False, cache_dir=tmp_path)
    on.setup("fit")
    off.setup("fit")
    assert (on.train_dataset.rc_prob, off.train_dataset.rc_prob) == (0.5, 0.0)


def test_missing_genome_names_species_and_path(tmp_path):
    genomes = {**small_genomes(tmp_path), "ghost": str(tmp_path / "ghost.fa")}
    with pytest.raises(UserError, match=r"'ghost' not found: .*ghost\.fa"):
        DnaSpeciesDataModule(genomes)


def test_one_species_is_not_enough(tmp_path):
    genomes = small_genomes(tmp_path)
    with pytest.raises(UserError, match="at least two species"):
        DnaSpeciesDataModule({"alpha": genomes["alpha"]})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"seq_len": 0}, "data.seq_len"), ({"max_n_frac": 1.5}, "data.max_n_frac")],
)
def test_bad_settings(tmp_path, kwargs, match):
    with pytest.raises(UserError, match=match):
        DnaSpeciesDataModule(small_genomes(tmp_path), **kwargs)


def test_window_longer_than_a_split_region(tmp_path):
    module = DnaSpeciesDataModule(small_genomes(tmp_path), seq_len=300, cache_dir=tmp_path)
    with pytest.raises(UserError, match="'alpha' has no val region.*smaller data.seq_len"):
        module.setup("fit")


@pytest.mark.parametrize(
    "eval_seq_len, expected", [("auto", 200), (120, 120), (None, 300)], ids=["auto", "set", "null"]
)
def test_eval_windows_at_a_training_length_longer_than_the_val_regions(
    tmp_path, capsys, eval_seq_len, expected
):
    # 2 kb genomes: train regions of 1,600 bases, val and test regions of 200
    module = DnaSpeciesDataModule(
        small_genomes(tmp_path), seq_len=300, cache_dir=tmp_path, eval_seq_len=eval_seq_len
    )
    if eval_seq_len is None:  # the window length as it is: no val window fits
        with pytest.raises(UserError, match="no val region"):
            module.setup("fit")
        return
    module.setup(None)
    assert module.train_dataset[0]["tokens"].shape == (300,)
    assert module.val_dataset[0]["tokens"].shape == (expected,)
    assert module.test_dataset[0]["tokens"].shape == (expected,)
    assert ("validation and test windows are 200 bases" in capsys.readouterr().err) == (
        eval_seq_len == "auto"
    )


def test_eval_seq_len_is_checked(tmp_path):
    with pytest.raises(UserError, match="data.eval_seq_len"):
        DnaSpeciesDataModule(small_genomes(tmp_path), eval_seq_len="longest")


def test_training_windows_can_be_shorter_than_the_scored_ones(tmp_path):
    module = DnaSpeciesDataModule(
        small_genomes(tmp_path), seq_len=150, train_seq_len=64, cache_dir=tmp_path
    )
    module.setup(None)
    assert module.train_dataset[0]["tokens"].shape == (64,)
    assert module.val_dataset[0]["tokens"].shape == (150,)
    assert module.test_dataset[0]["tokens"].shape == (150,)
    with pytest.raises(UserError, match="data.train_seq_len"):
        DnaSpeciesDataModule(small_genomes(tmp_path), train_seq_len=-1)
