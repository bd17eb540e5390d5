"""One-step state update for recurrent decoding (reference; a fused GPU version may sit beside it)."""

from seqmodels.kernels.state_update.reference import selective_state_update_ref

selective_state_update = selective_state_update_ref

__all__ = ["selective_state_update", "selective_state_update_ref"]
