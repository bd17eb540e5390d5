"""Exact inference over sequences of any length in memory set by a segment, not by the length.

A sequence is read `segment` tokens at a time through a reader, `read(start, end)` → token ids
(batch, end - start), so a whole chromosome never has to exist as one tensor (predict_dna.py reads
segments from the memory-mapped genome store). Every variant gives what one full pass gives, up to
floating-point summation order:

- causal: the backbone runs segment after segment carrying its state (each mixer's conv window
  and SSM state, backbone.py), which is exactly one pass. Memory: one segment's activations.
  Attention blocks (hybrid, transformer) carry a KV cache: with a sliding window W it holds W
  tokens, so memory stays bounded; full attention keeps every token read so far, so a record
  whose cache would pass FULL_ATTENTION_BUDGET bytes is refused (check_attention_memory).
- rc_equivariant: the causal reader on the sequence and on its reverse complement, both carried
  (the reverse complement is read from the sequence's end). Mean pooling of its features is the
  sum of the two strands' means (rc_equivariant.py).
- bidirectional: layer by layer over the whole sequence. Only the residual stream of the current
  layer is held, (batch, L, d_model) in the residual dtype (fp32); each layer runs its forward
  mixer over the segments, keeping just the state at each segment start, then walks the segments
  backwards with the reversed mixer (its own carried state) and recomputes the forward output of
  each segment from its saved start state before adding both into the stream. That costs one more
  forward-mixer pass per layer and keeps memory to one layer's activations, never all layers'.

Pooling (mean or last token, heads.py) accumulates across segments: a running sum (fp64) and the
last token's features. Sequences are unpadded (no mask): one record, or equal-length rows.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from seqmodels.errors import UserError
from seqmodels.models.backbones.bidirectional import BidirectionalBackbone
from seqmodels.models.backbones.causal import BackboneState, MambaBackbone
from seqmodels.models.backbones.rc_equivariant import RCEquivariantBackbone
from seqmodels.models.heads import POOLINGS, SequenceClassifier
from seqmodels.models.mixer import MixerState

# Tokens per segment. On the CPU a segment's activations should stay near the cache (a dna-tiny
# segment of 2^14 tokens: ~70 MB; 2^16 ran 15% slower per token here and needed 330 MB); on a GPU
# longer segments keep kernels busy instead of waiting on launches.
DEFAULT_SEGMENT = 2**14
DEFAULT_SEGMENT_GPU = 2**18


def default_segment(device: torch.device | str) -> int:
    """The segment length used when none is given, for a model on `device`."""
    return DEFAULT_SEGMENT if torch.device(device).type == "cpu" else DEFAULT_SEGMENT_GPU


def device_and_segment(model: torch.nn.Module, segment: int | None) -> tuple[torch.device, int]:
    """Where `model` is, and the segment length for it: `segment`, else default_segment."""
    device = next(model.parameters()).device
    return device, default_segment(device) if segment is None else segment


# the most bytes the KV caches of full-attention blocks may hold when a record is streamed
FULL_ATTENTION_BUDGET = 4 * 2**30

Reader = Callable[[int, int], Tensor]  # (start, end) → token ids (batch, end - start), int64
Progress = Callable[[float], None]  # called with the fraction of the work done, 0 … 1


def tensor_reader(ids: Tensor) -> Reader:
    """A reader over token ids already in memory, (batch, L)."""
    return lambda start, end: ids[:, start:end]


def reverse_complement_reader(read: Reader, length: int, complement: Tensor) -> Reader:
    """The reverse complement of the sequence `read` gives (`complement`: (vocab,) id → id):
    its tokens start:end are the complements of the sequence's length-end:length-start, flipped."""

    def read_rc(start: int, end: int) -> Tensor:
        ids = read(length - end, length - start)
        return complement.to(ids.device)[ids].flip(1)

    return read_rc


def _concat(*reads: Reader) -> Reader:
    """Readers of the same length stacked along the batch: one pass serves them all."""
    return lambda start, end: torch.cat([read(start, end) for read in reads])


def _segments(length: int, segment: int) -> list[tuple[int, int]]:
    return [(s, min(s + segment, length)) for s in range(0, length, segment)]


class _Pool:
    """Mean (a running fp64 sum) or last-token pooling over the segments of a sequence."""

    def __init__(self, pooling: str, length: int) -> None:
        self.pooling, self.length = pooling, length
        self.total: Tensor | None = None
        self.last: Tensor | None = None

    def add(self, hidden: Tensor) -> None:  # (B, T, D), the features of the next T tokens
        if self.pooling == "mean":
            part = hidden.sum(1, dtype=torch.float64)
            self.total = part if self.total is None else self.total + part
        self.last = hidden[:, -1]

    def result(self) -> Tensor:  # (B, D), in the features' dtype
        if self.pooling == "last":
            return self.last
        return (self.total / self.length).to(self.last.dtype)


def _check(length: int, segment: int, pooling: str) -> None:
    if length < 1:
        raise ValueError(f"cannot pool an empty sequence (length {length})")
    if segment < 1:
        raise ValueError(f"segment must be >= 1, got {segment}")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r}: choose one of {', '.join(POOLINGS)}")


def _param(module: nn.Module) -> Tensor:
    return next(module.parameters())


def check_attention_memory(backbone: nn.Module, batch: int, length: int) -> None:
    """A UserError if the full-attention KV caches of `batch` sequences of `length` tokens would
    hold more than FULL_ATTENTION_BUDGET bytes (windowed attention holds W tokens: no limit)."""
    config = getattr(backbone, "config", None)
    if config is None or not config.attention_layers() or config.window is not None:
        return
    itemsize = _param(backbone).element_size()
    need = 2 * len(config.attention_layers()) * batch * length * config.d_model * itemsize
    if need > FULL_ATTENTION_BUDGET:
        raise UserError(
            f"full attention keeps every token in its KV cache: {length:,} tokens need "
            f"{need / 2**30:.1f} GiB (limit {FULL_ATTENTION_BUDGET / 2**30:.0f} GiB); train "
            "with a sliding window (model.attn_window=N) to read records of any length"
        )


def _causal(
    backbone: MambaBackbone, read: Reader, length: int, pool: _Pool, segment: int, progress
) -> None:
    state: BackboneState | None = None
    for start, end in _segments(length, segment):
        ids = read(start, end)
        if state is None:
            if length > segment:  # one segment is one pass, with no cache to grow
                check_attention_memory(backbone, ids.shape[0], length)
            weight = _param(backbone)
            state = backbone.allocate_inference_cache(ids.shape[0], weight.device, weight.dtype)
        hidden, state = backbone(ids, state)
        pool.add(hidden)
        if progress is not None:
            progress(end / length)


def _clone(state: MixerState) -> MixerState:
    return MixerState(state.conv.clone(), state.ssm.clone())


def _bidirectional(
    backbone: BidirectionalBackbone, read: Reader, length: int, pool: _Pool, segment: int, progress
) -> None:
    segments = _segments(length, segment)
    first = read(*segments[0])
    batch, weight = first.shape[0], _param(backbone)
    residual_in_fp32 = backbone.config.residual_in_fp32
    stream_dtype = torch.float32 if residual_in_fp32 else weight.dtype
    # the residual stream of the whole sequence: the one (batch, L, d_model) tensor held
    stream = torch.empty(
        batch, length, backbone.config.d_model, dtype=stream_dtype, device=weight.device
    )
    for i, (start, end) in enumerate(segments):
        ids = first if i == 0 else read(start, end)
        stream[:, start:end] = backbone.embedding(ids).to(stream_dtype)
    # progress in segment passes: per layer one forward pass, then the reversed pass that also
    # recomputes the forward one (two); then the final norm and pooling (one)
    units, done = (3 * len(backbone.layers) + 1) * len(segments), 0
    for layer in backbone.layers:
        mixer = layer.mixer

        def normed(start: int, end: int, layer=layer) -> Tensor:
            return layer.norm(stream[:, start:end].to(layer.norm.weight.dtype))

        # forward direction: only the state at each segment's start is kept
        starts: list[MixerState] = []
        state = mixer.fwd.allocate_inference_cache(batch, weight.device, weight.dtype)
        for start, end in segments:
            starts.append(_clone(state))
            _, state = mixer.fwd(normed(start, end), state)
            done += 1
            if progress is not None:
                progress(done / units)
        # reversed direction, from the last segment to the first, adding both into the stream
        state = mixer.rev.allocate_inference_cache(batch, weight.device, weight.dtype)
        for k in reversed(range(len(segments))):
            start, end = segments[k]
            x = normed(start, end)
            backward, state = mixer.rev(x.flip(1), state)
            forward, _ = mixer.fwd(x, starts[k])
            hidden = forward + backward.flip(1)
            stream[:, start:end] = (stream[:, start:end] + hidden).to(stream_dtype)
            done += 2
            if progress is not None:
                progress(done / units)
    for start, end in segments:
        pool.add(backbone.norm_f(stream[:, start:end].to(backbone.norm_f.weight.dtype)))
        done += 1
        if progress is not None:
            progress(done / units)


@torch.no_grad()
def stream_pool(
    backbone: nn.Module,
    read: Reader,
    length: int,
    pooling: str = "mean",
    segment: int | None = None,
    progress: Progress | None = None,
) -> Tensor:
    """`pool(backbone.encode(ids), None, pooling)` of the whole sequence that `read` gives
    (length tokens), computed `segment` tokens at a time (default: default_segment for the
    model's device); see the module docstring.

    Returns (batch, d_model) in the model's dtype.
    """
    if segment is None:
        segment = default_segment(_param(backbone).device)
    _check(length, segment, pooling)
    pool = _Pool(pooling, length)
    if isinstance(backbone, RCEquivariantBackbone):
        if pooling != "mean":
            raise ValueError("an rc_equivariant backbone is RC-invariant with mean pooling only")
        rc = reverse_complement_reader(read, length, backbone.complement)
        _causal(backbone, _concat(read, rc), length, pool, segment, progress)
        forward, reverse = pool.result().chunk(2)
        return forward + reverse
    if isinstance(backbone, MambaBackbone):
        _causal(backbone, read, length, pool, segment, progress)
    elif isinstance(backbone, BidirectionalBackbone):
        _bidirectional(backbone, read, length, pool, segment, progress)
    else:
        raise TypeError(f"no streaming reader for {type(backbone).__name__}")
    return pool.result()


@torch.no_grad()
def stream_classify(
    model: SequenceClassifier,
    read: Reader,
    length: int,
    segment: int | None = None,
    progress: Progress | None = None,
) -> Tensor:
    """`model(ids)` of the sequence `read` gives, in segments: a classifier's logits (batch,
    classes), a regressor's values in the data's units (batch, targets), through the model's
    `outputs_from_head`, as its forward gives them.

    With rc_average (eval mode) the sequence and its reverse complement go through one pass
    together, as a batch twice as large.
    """
    rc_average = model.rc_average and not model.training
    if rc_average:
        read = _concat(read, reverse_complement_reader(read, length, model.complement))
    pooled = stream_pool(model.backbone, read, length, model.pooling, segment, progress)
    logits = model.head(pooled)
    if rc_average:
        forward, reverse = logits.chunk(2)
        logits = (forward + reverse) / 2
    return model.outputs_from_head(logits)
