"""Multi-head self-attention beside the Mamba mixer, and the attention + MLP block around it.

`Attention` has the mixer interface of MambaMixer (mixer.py): `forward(x, state)` → (y, state),
`step(x_t, state)`, `allocate_inference_cache(batch)`, so a backbone carries, streams and decodes
attention blocks and SSM blocks alike. Queries and keys get rotary position embeddings (RoPE) of
their absolute position from the start of the stream, so a sequence read in pieces sees the same
positions as one pass; attention scores then depend on relative positions only.

Causal attention with a sliding window W: token t sees t-W+1 … t. Its state is a KV cache of W
slots, a ring buffer (the key and value of position q live in slot q % W), so memory stays W
tokens however long the stream. Full attention (window None) keeps every token: its cache grows
with the stream. The state holds keys after the rotary embedding, so cached keys never need
re-rotating.

Windowed attention is computed in query blocks of `block` tokens, each against the keys it can
see (block + W of them), so memory is O(L · W) instead of O(L²). Rotary angles are computed in
float64: at a million positions a float32 angle would be off by a fraction of a radian.

`AttentionBlock` is the pre-norm residual Block (block.py) around Attention, followed by a
second pre-norm residual sub-block with a GELU MLP, the residual stream in fp32 as in the SSM
blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqmodels.models.block import Block

# position of an empty cache slot: far enough back that no query's window reaches it
EMPTY = -(2**62)
# query block of the windowed computation: at least this many queries per score matrix, so that
# small windows do not mean many tiny matrix products
MIN_BLOCK = 256


@dataclass
class KVCache:
    """What an attention layer carries between calls."""

    k: Tensor  # (batch, heads, S, head_dim): rotated keys; S = W slots, or the tokens so far
    v: Tensor  # (batch, heads, S, head_dim)
    pos: Tensor  # (S,) int64: the absolute position of each slot (EMPTY: not written yet)
    offset: Tensor  # () int64: tokens seen so far, the position of the next one


def rotary(x: Tensor, pos: Tensor, base: float) -> Tensor:
    """x (..., T, head_dim) rotated by the angles of positions pos (T,) (the half-split RoPE)."""
    half = x.shape[-1] // 2
    inv_freq = base ** (-torch.arange(half, device=x.device, dtype=torch.float64) / half)
    angles = pos.to(torch.float64)[:, None] * inv_freq  # (T, half)
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def allowed(q_pos: Tensor, k_pos: Tensor, causal: bool, window: int | None) -> Tensor:
    """(T, S) bool: which keys (positions k_pos (S,)) each query (q_pos (T,)) may attend to."""
    diff = q_pos[:, None] - k_pos[None, :]  # (T, S): how far back each key lies
    ok = k_pos[None, :] >= 0
    if causal:
        ok = ok & (diff >= 0)
    if window is not None:
        ok = ok & (diff.abs() < window)
    return ok


class Attention(nn.Module):
    def __init__(
        self,
        d_model: int,
        n_heads: int,
        window: int | None = None,
        causal: bool = True,
        rope_base: float = 10000.0,
        bias: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if d_model % n_heads or (d_model // n_heads) % 2:
            raise ValueError(
                f"model.n_heads={n_heads} must divide d_model={d_model} into heads of an even "
                "size (rotary embeddings rotate pairs of channels)"
            )
        factory = {"device": device, "dtype": dtype}
        self.d_model, self.n_heads, self.head_dim = d_model, n_heads, d_model // n_heads
        self.window, self.causal, self.rope_base = window, causal, rope_base
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias, **factory)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias, **factory)

    def _heads(self, hidden: Tensor, pos: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """q, k (rotated), v: (B, H, T, head_dim) each, from hidden (B, T, D)."""
        B, T, _ = hidden.shape
        qkv = self.qkv(hidden).view(B, T, 3, self.n_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        return rotary(q, pos, self.rope_base), rotary(k, pos, self.rope_base), v

    def forward(
        self,
        hidden: Tensor,  # (batch, L, d_model)
        state: KVCache | None = None,
        mask: Tensor | None = None,  # (batch, L) bool, False at padding: non-causal only
    ) -> tuple[Tensor, KVCache | None]:
        """Attend over the sequence (after the cached tokens, with a state); with a state, also
        return the state after the last token."""
        B, T, D = hidden.shape
        start = 0 if state is None else int(state.offset)
        pos = torch.arange(start, start + T, device=hidden.device)
        q, k, v = self._heads(hidden, pos)
        if state is None:
            keys, values, k_pos = k, v, pos
        else:
            if not self.causal:
                raise ValueError("non-causal attention has no state to continue from")
            order = state.pos.argsort()  # the cached tokens in stream order (empty slots first)
            keys = torch.cat([state.k[:, :, order], k], dim=2)  # (B, H, S + T, hd)
            values = torch.cat([state.v[:, :, order], v], dim=2)
            k_pos = torch.cat([state.pos[order], pos])
        y = self._attend(q, keys, values, pos, k_pos, mask)  # (B, H, T, hd)
        y = self.out_proj(y.transpose(1, 2).reshape(B, T, D))
        return y, (None if state is None else self._advance(state, k, v, pos))

    def _attend(
        self, q: Tensor, k: Tensor, v: Tensor, q_pos: Tensor, k_pos: Tensor, mask: Tensor | None
    ) -> Tensor:
        """Queries at q_pos (T,) over keys at k_pos (S,), both in stream order, the queries'
        own keys last among the keys when causal."""
        T, S = q.shape[2], k.shape[2]
        if self.window is None and S == T and (self.causal or mask is None):
            return F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        # the keys of query block [i0, i1) lie in [lo, hi): earlier tokens (cached or in this
        # call) at most W - 1 back, and for non-causal attention up to W - 1 ahead
        block = T if self.window is None else max(self.window, MIN_BLOCK)
        first = S - T  # key index of the first query's own key
        outputs = []
        for i0 in range(0, T, block):
            i1 = min(i0 + block, T)
            lo = 0 if self.window is None else max(0, first + i0 - self.window + 1)
            if self.causal:
                hi = first + i1
            else:
                hi = S if self.window is None else min(S, first + i1 + self.window - 1)
            ok = allowed(q_pos[i0:i1], k_pos[lo:hi], self.causal, self.window)  # (b, s)
            if mask is not None:
                # padding keys are hidden from every query; a padding query keeps itself, so
                # no row is empty (its output is never read)
                same = q_pos[i0:i1, None] == k_pos[None, lo:hi]
                ok = (ok & mask[:, None, None, lo:hi]) | same
            outputs.append(
                F.scaled_dot_product_attention(
                    q[:, :, i0:i1], k[:, :, lo:hi], v[:, :, lo:hi], attn_mask=ok
                )
            )
        return torch.cat(outputs, dim=2)

    def _advance(self, state: KVCache, k: Tensor, v: Tensor, pos: Tensor) -> KVCache:
        """The state after the tokens at positions pos with keys k, values v (B, H, T, hd)."""
        offset = state.offset + pos.numel()
        if self.window is None:  # full attention: keep everything
            keys = torch.cat([state.k, k], dim=2)
            return KVCache(
                keys, torch.cat([state.v, v], dim=2), torch.cat([state.pos, pos]), offset
            )
        keep = min(pos.numel(), self.window)  # only the last W tokens can be seen again
        slots = pos[-keep:] % self.window
        return KVCache(
            state.k.index_copy(2, slots, k[:, :, -keep:]),
            state.v.index_copy(2, slots, v[:, :, -keep:]),
            state.pos.index_copy(0, slots, pos[-keep:]),
            offset,
        )

    def allocate_inference_cache(
        self, batch: int, device: torch.device | None = None, dtype: torch.dtype | None = None
    ) -> KVCache:
        """An empty cache (W empty slots with a window, no tokens without): decoding from it
        equals a forward with no state."""
        if not self.causal:
            raise ValueError("non-causal attention has no state to decode from")
        device = device or self.qkv.weight.device
        dtype = dtype or self.qkv.weight.dtype
        slots = 0 if self.window is None else self.window
        shape = (batch, self.n_heads, slots, self.head_dim)
        return KVCache(
            k=torch.zeros(shape, device=device, dtype=dtype),
            v=torch.zeros(shape, device=device, dtype=dtype),
            pos=torch.full((slots,), EMPTY, device=device, dtype=torch.long),
            offset=torch.zeros((), device=device, dtype=torch.long),
        )

    def step(self, hidden: Tensor, state: KVCache) -> Tensor:
        """One token (batch, d_model) → (batch, d_model); updates `state` in place (with a
        window; without one the cache grows, so its tensors are replaced)."""
        B, D = hidden.shape
        pos = state.offset.view(1)
        q, k, v = self._heads(hidden[:, None], pos)  # (B, H, 1, hd) each
        if self.window is None:
            state.k = torch.cat([state.k, k], dim=2)
            state.v = torch.cat([state.v, v], dim=2)
            state.pos = torch.cat([state.pos, pos])
            ok = None
        else:
            slot = pos % self.window
            state.k.index_copy_(2, slot, k)
            state.v.index_copy_(2, slot, v)
            state.pos.index_copy_(0, slot, pos)
            ok = (state.pos >= 0)[None]  # (1, W): once written, the ring holds the window
        state.offset += 1
        y = F.scaled_dot_product_attention(q, state.k, state.v, attn_mask=ok)  # (B, H, 1, hd)
        return self.out_proj(y.reshape(B, D))


class MLP(nn.Module):
    """d_model → hidden → d_model with a GELU between."""

    def __init__(self, d_model: int, hidden: int, bias: bool = False, device=None, dtype=None):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.fc = nn.Linear(d_model, hidden, bias=bias, **factory)
        self.out_proj = nn.Linear(hidden, d_model, bias=bias, **factory)

    def forward(self, x: Tensor) -> Tensor:  # (..., d_model) → same
        return self.out_proj(F.gelu(self.fc(x)))


class AttentionBlock(Block):
    """Block(Attention) (block.py: add, norm, mix) then add, norm, MLP: the same (hidden,
    residual, state) interface as an SSM block, so a backbone mixes both kinds freely."""

    def __init__(
        self, mixer: Attention, mlp: MLP, norm_eps: float = 1e-5, residual_in_fp32: bool = True
    ):
        super().__init__(mixer, norm_eps=norm_eps, residual_in_fp32=residual_in_fp32)
        self.mlp = mlp
        self.mlp_norm = nn.RMSNorm(mixer.d_model, eps=norm_eps)

    def _mlp(self, hidden: Tensor, residual: Tensor) -> tuple[Tensor, Tensor]:
        residual = residual + hidden  # fp32 stays fp32: the residual already is
        normed = self.mlp_norm(residual.to(self.mlp_norm.weight.dtype))
        return self.mlp(normed), residual

    def forward(
        self,
        hidden: Tensor,  # (batch, L, d_model)
        residual: Tensor | None,  # (batch, L, d_model)
        state: KVCache | None = None,
    ) -> tuple[Tensor, Tensor, KVCache | None]:
        hidden, residual, state = super().forward(hidden, residual, state)
        return *self._mlp(hidden, residual), state

    def step(
        self, hidden: Tensor, residual: Tensor | None, state: KVCache
    ) -> tuple[Tensor, Tensor]:
        """One token (batch, d_model); updates `state`."""
        hidden, residual = super().step(hidden, residual, state)
        return self._mlp(hidden, residual)
