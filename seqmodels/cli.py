"""The command line: subcommands in front of Hydra's compose API.

    seqmodels fit task=dna_species [key=value ...]
    seqmodels fit resume=RUN_DIR [key=value ...]
    seqmodels validate|test [ckpt=RUN] [key=value ...]
    seqmodels predict FILE... [ckpt=RUN_OR_FILE] [out=DIR] [window=N|record] [stride=M]
    seqmodels predict TABLE... [genome=FASTA] [labelled=true|false] [ckpt=RUN] [out=DIR]
    seqmodels embed FILE... [ckpt=RUN_OR_FILE] [window=N|record] [pooling=mean|last] [out=DIR]
    seqmodels score-variants VCF... genome=FASTA [ckpt=RUN_OR_FILE] [window=N] [out=DIR]
    seqmodels generate [ckpt=RUN] [n=4] [seconds=2] [prompt=FILE] [temperature=1.0] [out=DIR]
    seqmodels export ckpt=RUN_OR_CKPT out=DIR

predict, generate and export take the options their functions' signatures name
(seqmodels.commands.options reads them, with their types).

A user's mistake ends in one line on stderr and exit code 2; a traceback means a bug.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from seqmodels.errors import UserError

USAGE = """\
usage: seqmodels COMMAND [ARGS] [key=value ...]

commands:
  fit task=NAME [key=value ...]      train a model; writes runs/<task>/<time>/ (tasks: {tasks})
  fit resume=RUN_DIR [key=value ...]  continue a killed or stopped run from its last.ckpt
  validate [ckpt=RUN] [key=value ...] score a trained model on the validation windows
  test [ckpt=RUN] [key=value ...]     score a trained model on the test windows
  predict FILE... [ckpt=RUN_OR_FILE] [out=DIR] [window=N] [stride=M] [batch_size=B]
                                      predict every window and record of FASTA files
                                      (classes, values or labels, by the model's kind);
                                      window=record [segment=S]: each record whole, in
                                      one streaming pass (memory set by S, not the record);
                                      default ckpt: runs/dna_species/latest; audio files
                                      (WAV, FLAC, OGG): runs/audio_classify/latest
  predict TABLE... [genome=FASTA] [labelled=true|false] [ckpt=RUN] [out=DIR]
                                      every row of the files dna_classify trains on
                                      (.tsv/.csv/.bed, class folders; a '|label' FASTA
                                      with labelled=true): <out>/<name>.predictions.tsv,
                                      and .metrics.tsv when the rows carry labels;
                                      default ckpt: runs/dna_classify/latest
  embed FILE... [ckpt=RUN_OR_FILE] [window=N|record] [stride=M] [pooling=mean|last]
        [dtype=float16|float32] [out=embeddings] [token_map=A:ID,...]
                                      pooled backbone output per window or record:
                                      <out>/<name>.embeddings.npy + <name>.index.tsv
  score-variants VCF... genome=FASTA [ckpt=RUN_OR_FILE] [window=N] [out=variant_scores]
                                      effect of each VCF ALT allele: class probability
                                      changes (classifier) or log-likelihood ratio (LM)
                                      default ckpt (embed, score-variants): runs/dna_species/
                                      latest; ckpt= also takes a mamba_ssm checkpoint folder
  generate [ckpt=RUN] [n=4] [seconds=2] [prompt=FILE] [temperature=1.0] [out=generated]
           [batch_size=B] [seed=S] [compile=auto|true|false]
                                      sample audio from an audio_lm model in recurrent mode;
                                      default ckpt: runs/audio_lm/latest
  export ckpt=RUN_OR_CKPT out=DIR     write config.json + model.safetensors (weights only);
                                      task=NAME instead of ckpt: its latest run
  predict, generate and export also take run_root=DIR: where runs/<task>/latest is looked for

options:
  --cfg        print the resolved configuration and exit (fit, validate, test)
  -h, --help   show this message

Configuration keys are Hydra overrides, e.g. data.seq_len=4096 trainer.max_steps=2000
model=dna_small; `seqmodels fit task=NAME --cfg` lists them all with their values.
"""


def _error(message: str) -> int:
    print(f"seqmodels: error: {message}", file=sys.stderr)
    return 2


def compose_config(overrides: list[str]):
    """The resolved configuration for these overrides, or a UserError that says what to fix."""
    from hydra import compose, initialize_config_module
    from hydra.errors import (
        ConfigCompositionException,
        MissingConfigException,
        OverrideParseException,
    )

    from seqmodels.overrides import check_composed
    from seqmodels.training.choices import config_choices

    with initialize_config_module("seqmodels.conf", version_base=None):
        try:
            cfg = compose("config", overrides=overrides)
            check_composed(
                cfg,
                overrides,
                lambda groups: compose("config", overrides=groups),
                config_choices(),
            )
            return cfg
        except MissingConfigException as error:
            raise UserError(_explain_missing_config(str(error))) from None
        except OverrideParseException as error:
            first = str(error).splitlines()[0]
            raise UserError(f"{first}: arguments must look like key=value") from None
        except ConfigCompositionException as error:
            raise UserError(_explain_override_error(error, overrides)) from None


def _explain_missing_config(message: str) -> str:
    """Hydra's multi-line 'Could not find task/foo' → one line with the available options."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    first = re.sub(r"^In '[^']*': ", "", lines[0])
    options = []
    for line in lines[1:]:
        if line.startswith("Config search path"):
            break
        if not line.startswith("Available options"):
            options.append(line)
    return f"{first}; available: {', '.join(options) or 'none'}"


def _explain_override_error(error: Exception, overrides: list[str]) -> str:
    """Name the unknown key and list the valid keys at that level of the configuration."""
    from hydra import compose

    from seqmodels.overrides import unknown_key_message

    message = str(error.__cause__ or error).splitlines()[0]
    bad = [o for o in overrides if f"'{o.split('=', 1)[0]}'" in str(error)]
    if not bad:
        return message
    key = bad[0].split("=", 1)[0].lstrip("+~")
    base = compose("config", overrides=[o for o in overrides if o not in bad])
    return unknown_key_message(base, key)


def _split_args(args: list[str]) -> tuple[list[str], list[str], bool]:
    """(positional args, key=value overrides, whether --cfg was given)."""
    show = "--cfg" in args
    args = [a for a in args if a != "--cfg"]
    unknown = [a for a in args if a.startswith("-")]
    if unknown:
        raise UserError(f"unknown option {unknown[0]}; see `seqmodels --help`")
    return [a for a in args if "=" not in a], [a for a in args if "=" in a], show


def _run_with_config(args: list[str], action: Callable, compose: Callable = compose_config) -> int:
    positional, overrides, show = _split_args(args)
    if positional:
        raise UserError(
            f"unexpected argument {positional[0]!r}: configuration is given as key=value"
        )
    cfg = compose(overrides)
    if show:
        from omegaconf import OmegaConf

        print(OmegaConf.to_yaml(cfg, resolve=True), end="")
        return 0
    action(cfg)
    return 0


def _compose_fit(overrides: list[str]):
    """fit's configuration: with resume=RUN_DIR, the run's own config.yaml + the overrides."""
    pairs = [o.lstrip("+").split("=", 1) for o in overrides]
    if any(key == "resume" and value not in ("", "null") for key, value in pairs):
        from seqmodels.training.resume import resume_config

        return resume_config(overrides)
    return compose_config(overrides)


def _fit(args: list[str]) -> int:
    from seqmodels.training.fit import fit

    return _run_with_config(args, fit, _compose_fit)


def _validate(args: list[str]) -> int:
    from seqmodels.training.fit import evaluate

    return _run_with_config(args, lambda cfg: evaluate(cfg, "validate"))


def _test(args: list[str]) -> int:
    from seqmodels.training.fit import evaluate

    return _run_with_config(args, lambda cfg: evaluate(cfg, "test"))


def _only_options(command: str, args: list[str], function: Callable) -> dict:
    """The options of a command that takes no files, typed by the function's signature."""
    from seqmodels.commands.options import parse_options

    positional, pairs, _ = _split_args(args)
    if positional:
        raise UserError(f"unexpected argument {positional[0]!r}: give options as key=value")
    return parse_options(command, function, pairs)


def _predict(args: list[str]) -> int:
    from seqmodels.commands.options import parse_options
    from seqmodels.data.audio.io import SUFFIXES

    files, pairs, _ = _split_args(args)
    if files and all(Path(f).suffix.lower() in SUFFIXES for f in files):
        from seqmodels.commands.predict_audio import predict_command
    else:
        from seqmodels.commands.predict_dna import predict_command
    options = parse_options("predict", predict_command, pairs)
    if not files:
        raise UserError(
            "predict needs at least one FASTA file: seqmodels predict genome.fa "
            "(or a table, BED file or class folder; or audio files for an audio classifier)"
        )
    predict_command(files, **options)
    return 0


def _embed(args: list[str]) -> int:
    from seqmodels.commands.embed import embed_command
    from seqmodels.commands.options import parse_options

    files, pairs, _ = _split_args(args)
    embed_command(files, **parse_options("embed", embed_command, pairs))
    return 0


def _score_variants(args: list[str]) -> int:
    from seqmodels.commands.options import parse_options
    from seqmodels.commands.score_variants import score_variants_command

    files, pairs, _ = _split_args(args)
    score_variants_command(files, **parse_options("score-variants", score_variants_command, pairs))
    return 0


def _generate(args: list[str]) -> int:
    from seqmodels.commands.generate import generate_command

    generate_command(**_only_options("generate", args, generate_command))
    return 0


def _export(args: list[str]) -> int:
    from seqmodels.commands.export import export_command

    export_command(**_only_options("export", args, export_command))
    return 0


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "fit": _fit,
    "validate": _validate,
    "test": _test,
    "predict": _predict,
    "embed": _embed,
    "score-variants": _score_variants,
    "generate": _generate,
    "export": _export,
}


def _usage() -> str:
    from importlib.resources import files

    tasks = sorted(
        p.name.removesuffix(".yaml")
        for p in (files("seqmodels.conf") / "task").iterdir()
        if p.name.endswith(".yaml")
    )
    return USAGE.format(tasks=", ".join(tasks))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage(), end="")
        return 0 if argv else 2
    command, args = argv[0], argv[1:]
    if command not in COMMANDS:
        return _error(f"unknown command {command!r}; commands: {', '.join(COMMANDS)}")
    if "-h" in args or "--help" in args:
        print(_usage(), end="")
        return 0
    try:
        return COMMANDS[command](args)
    except UserError as error:
        return _error(str(error))
    except KeyboardInterrupt:
        return _error("interrupted")


if __name__ == "__main__":
    sys.exit(main())
