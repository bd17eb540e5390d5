"""`seqmodels embed`: the pooled backbone output of every window or record of FASTA files.

For each input file, writes <out>/<name>.embeddings.npy ((n, d_model), float16 or float32) and
<out>/<name>.index.tsv (file, record, start, end: which bases row i of the array pools; 0-based,
end exclusive), the array filled batch by batch in a memory-mapped temporary file and renamed
when complete, then the index, so a killed run never leaves a partial pair that looks whole.
Works for classifiers and language models alike (seqmodels.inference.embed), including a
mamba_ssm checkpoint folder (its tokens mapped by `token_map=` or its tokenizer files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from seqmodels.commands.options import PositiveInt
from seqmodels.commands.predict_dna import FASTA_SUFFIX
from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.errors import UserError
from seqmodels.inference.dna import RECORD, count_rows
from seqmodels.inference.embed import EmbeddingRow, check_pooling, iter_embeddings
from seqmodels.inference.load import load_model
from seqmodels.io.atomic import atomic_write
from seqmodels.io.model_card import ModelCard
from seqmodels.training.runs import latest_run

DTYPES = {"float16": np.float16, "float32": np.float32}


# What this command reads of a model's description, in one place.
def _alphabet(card: ModelCard) -> str | None:
    return card.alphabet


def _seq_len(card: ModelCard) -> int | None:
    return card.seq_len


def dna_model(ckpt: Path | None, token_map: str | None, command: str, run_root: Path):
    """(model, card, where it came from) of a DNA classifier or language model; by default
    the newest dna_species run under run_root."""
    ckpt = str(ckpt or latest_run(run_root, "dna_species"))
    model, info = load_model(ckpt, token_map)
    if _alphabet(info) != "dna":
        raise UserError(f"{command} reads DNA: {ckpt} is a {_alphabet(info)} model")
    return model, info, ckpt


def window_option(window: int | str | None, info: ModelCard, ckpt: str | None) -> int | str:
    """window=N or window=record; by default the model's training length."""
    if window is not None:
        return window
    if _seq_len(info) is None:
        raise UserError(
            f"window=: {ckpt} does not record the length it was trained on: "
            "give window=N (bases) or window=record"
        )
    return int(_seq_len(info))


def output_names(paths: list[Path], pattern, command: str) -> list[str]:
    """Each input's output name (its file name less `pattern`); two inputs of one name would
    overwrite each other's results, so that is refused before anything is written."""
    names = [pattern.sub("", path.name) or path.name for path in paths]
    for i, name in enumerate(names):
        if name in names[:i]:
            first = paths[names.index(name)]
            raise UserError(
                f"{first.name} and {paths[i].name} would both write {name}.*: "
                f"run {command} on them separately, with different out= folders"
            )
    return names


def write_index(path: Path, rows: list[EmbeddingRow]) -> None:
    lines = ["file\trecord\tstart\tend\n"]
    lines += [f"{r.file}\t{r.record}\t{r.start}\t{r.end}\n" for r in rows]
    atomic_write(path, lambda tmp: tmp.write_text("".join(lines)))


def embed_command(
    files: list[str],
    ckpt: Path | None = None,
    window: PositiveInt | Literal["record"] | None = None,
    stride: PositiveInt | None = None,
    pooling: Literal["mean", "last"] = "mean",
    dtype: Literal["float16", "float32"] = "float16",
    out: Path = Path("embeddings"),
    batch_size: PositiveInt = 64,
    segment: PositiveInt | None = None,
    cache_dir: Path | None = None,
    token_map: str | None = None,
    run_root: Path = Path("runs"),
) -> list[Path]:
    """`seqmodels embed FILE...`: write <out>/<name>.embeddings.npy and <name>.index.tsv."""
    if not files:
        raise UserError("embed needs at least one FASTA file: seqmodels embed genome.fa ckpt=RUN")
    if dtype not in DTYPES:
        raise UserError(f"dtype={dtype!r}: choose one of {', '.join(DTYPES)}")
    model, info, ckpt = dna_model(ckpt, token_map, "embed", run_root)
    check_pooling(model, pooling)
    window = window_option(window, info, ckpt)
    if window == RECORD:
        if stride is not None:
            raise UserError("stride= has no meaning with window=record (one pass per record)")
    else:
        stride = stride or window
        if stride > window:
            raise UserError(
                f"stride={stride} is larger than window={window}: bases would be skipped"
            )
    stores = [GenomeStore.open(path, cache_dir) for path in files]  # check every file first
    names = output_names([store.path for store in stores], FASTA_SUFFIX, "embed")
    model.to("cuda" if torch.cuda.is_available() else "cpu")
    out_dir = Path(out).expanduser()
    out_dir.mkdir(parents=True, exist_ok=True)
    width = model.config.d_model
    console = Console()
    written: list[Path] = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()) as bar:
        for store, name in zip(stores, names, strict=True):
            rows: list[EmbeddingRow] = []

            def write(tmp: Path, store=store, rows=rows) -> None:
                shape = (count_rows(store, window, stride), width)
                array = np.lib.format.open_memmap(tmp, "w+", DTYPES[dtype], shape)
                batches = iter_embeddings(
                    model, store, window, stride, pooling, batch_size, segment, bar
                )
                for where, batch in batches:
                    array[len(rows) : len(rows) + len(where)] = batch
                    rows += where
                array.flush()
                del array  # unmapped before atomic_write renames the file

            array_path = out_dir / f"{name}.embeddings.npy"
            index_path = out_dir / f"{name}.index.tsv"
            atomic_write(array_path, write)
            write_index(index_path, rows)
            written += [array_path, index_path]
            console.print(f"{store.path.name}: {len(rows)} embeddings of {width} ({dtype})")
    console.print("wrote " + ", ".join(str(p) for p in written))
    return written
