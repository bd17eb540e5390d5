"""Species classification data: which genome a DNA window comes from.

Each species is one genome FASTA file, and so one class, whatever its number of records
(chromosomes, plasmids). Species names are sorted before they become class ids, so the ids are
the same on every machine. With no genomes given, the five bundled bacterial genomes are used
(seqmodels/data/dna/bundled/bacteria5, see its SOURCES.md).

Records are split by region (see seqmodels.data.dna.windows): training draws random windows with
reverse-complement augmentation, validation and test use fixed windows.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TimeElapsedColumn

from seqmodels.data.datamodule import DataModule, check_counts, check_fraction
from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.data.dna.windows import FixedWindowDataset, RandomWindowDataset, longest_window
from seqmodels.errors import UserError

_BUNDLED = Path(__file__).parent / "bundled" / "bacteria5"


def bundled_genomes() -> dict[str, Path]:
    """{species: path} of the bundled genomes, named after their files (escherichia_coli, ...)."""
    return {path.name.removesuffix(".fa.gz"): path for path in sorted(_BUNDLED.glob("*.fa.gz"))}


class DnaSpeciesDataModule(DataModule):
    """Windows of genomes labelled with their species; see the module docstring.

    `genomes` maps species names to FASTA files (plain, gzip or bgzip). `split` gives the
    train/val/test fractions of every record. Training draws `train_samples_per_epoch` windows
    per epoch (call `train_dataset.set_epoch` each epoch) of `train_seq_len` bases (default
    `seq_len`; shorter ones make steps cheaper, and the pooled head reads any length);
    validation and test use `val_windows_per_class` / `test_windows_per_class` fixed windows.
    Windows with more than `max_n_frac` N bases are skipped. `cache_dir` holds the parsed
    genomes (see GenomeStore).
    `eval_seq_len` is the validation/test window length: None = `seq_len`; "auto" = `seq_len`
    cut to the longest window every species has in its val and test regions (at 2^20 bases the
    10% regions of a small genome are shorter than a window), with a note when it is cut.
    """

    def __init__(
        self,
        genomes: Mapping[str, str | Path] | None = None,
        seq_len: int = 1024,
        batch_size: int = 32,
        train_seq_len: int | None = None,
        num_workers: int = 0,
        split: Sequence[float] = (0.8, 0.1, 0.1),
        train_samples_per_epoch: int = 4096,
        val_windows_per_class: int = 64,
        test_windows_per_class: int = 256,
        rc_augment: bool = True,
        max_n_frac: float = 0.1,
        seed: int = 0,
        cache_dir: str | Path | None = None,
        eval_seq_len: int | str | None = None,
    ) -> None:
        super().__init__(batch_size, num_workers, split, seed)
        genomes = bundled_genomes() if genomes is None else genomes
        if not isinstance(genomes, Mapping):
            raise UserError(
                "data.genomes must map species to FASTA files, e.g. "
                f"'{{ecoli: ecoli.fa, bsub: bsub.fa}}', got {genomes!r}"
            )
        self.genomes = {str(name): Path(genomes[name]).expanduser() for name in sorted(genomes)}
        for name, path in self.genomes.items():
            if not path.exists():
                raise UserError(f"genome of species '{name}' not found: {path}: fix data.genomes")
        if len(self.genomes) < 2:
            raise UserError(f"data.genomes needs at least two species, got {list(self.genomes)}")
        check_counts(
            seq_len=seq_len,
            train_seq_len=train_seq_len or seq_len,
            train_samples_per_epoch=train_samples_per_epoch,
            val_windows_per_class=val_windows_per_class,
            test_windows_per_class=test_windows_per_class,
        )
        self.seq_len = seq_len
        self.train_seq_len = train_seq_len or seq_len
        self.train_samples_per_epoch = train_samples_per_epoch
        self.val_windows_per_class = val_windows_per_class
        self.test_windows_per_class = test_windows_per_class
        self.rc_prob = 0.5 if rc_augment else 0.0
        self.max_n_frac = check_fraction("max_n_frac", max_n_frac)
        self.cache_dir = cache_dir
        if eval_seq_len not in (None, "auto") and not (
            isinstance(eval_seq_len, int) and eval_seq_len > 0
        ):
            raise UserError(
                f"data.eval_seq_len must be a length >= 1, auto or null, got {eval_seq_len!r}"
            )
        self.eval_seq_len = eval_seq_len
        self.train_dataset: RandomWindowDataset | None = None
        self.val_dataset: FixedWindowDataset | None = None
        self.test_dataset: FixedWindowDataset | None = None

    @property
    def class_names(self) -> list[str]:
        return list(self.genomes)

    @property
    def num_classes(self) -> int:
        return len(self.genomes)

    def prepare_data(self) -> None:
        """Parse into the cache every genome not cached yet (seconds for a few bacteria)."""
        todo = {
            name: path
            for name, path in self.genomes.items()
            if not GenomeStore.is_cached(path, self.cache_dir)
        }
        if not todo:
            return
        columns = (SpinnerColumn(), "{task.description}", BarColumn(), MofNCompleteColumn())
        with Progress(*columns, TimeElapsedColumn(), transient=True) as progress:
            task = progress.add_task("caching genomes", total=len(todo))
            for name, path in todo.items():
                progress.update(task, description=f"parsing {name} ({path.name})")
                GenomeStore.open(path, self.cache_dir)
                progress.advance(task)

    def setup(self, stage: str | None = None) -> None:
        stores = [GenomeStore.open(path, self.cache_dir) for path in self.genomes.values()]
        common = {
            "fractions": self.split,
            "max_n_frac": self.max_n_frac,
            "seed": self.seed,
            "class_names": self.class_names,
        }
        if stage in ("fit", None):
            self.train_dataset = RandomWindowDataset(
                stores,
                "train",
                self.train_seq_len,
                self.train_samples_per_epoch,
                rc_prob=self.rc_prob,
                **common,
            )
        if stage in ("fit", "validate", None):
            self.val_dataset = FixedWindowDataset(
                stores, "val", self._eval_len(stores), self.val_windows_per_class, **common
            )
        if stage in ("test", None):
            self.test_dataset = FixedWindowDataset(
                stores, "test", self._eval_len(stores), self.test_windows_per_class, **common
            )

    def _eval_len(self, stores: list[GenomeStore]) -> int:
        """The validation/test window length (see eval_seq_len in the class docstring)."""
        if isinstance(self.eval_seq_len, int):
            return self.eval_seq_len
        if self.eval_seq_len is None:
            return self.seq_len
        fits = min(longest_window(stores, split, self.split) for split in ("val", "test"))
        if fits >= self.seq_len:
            return self.seq_len
        if not getattr(self, "_noted_eval_len", False):  # once, not at every setup
            self._noted_eval_len = True
            Console(stderr=True).print(
                f"note: validation and test windows are {fits:,} bases, the longest that "
                f"every species' val and test regions hold (data.seq_len={self.seq_len:,}; "
                "data.eval_seq_len sets it)"
            )
        return fits
