"""Two baselines to read an audio language model's bits per sample against.

unigram: the entropy of the mu-law symbol distribution of the scored tokens: what the best model
    that ignores context would reach on them (it is fitted to the very tokens it scores).
lpc: linear prediction. Each sample is predicted from the `order` before it, with coefficients
    fitted by least squares on training windows, and the prediction error is taken to be
    Laplace-distributed with a scale that tracks the recent errors (backward-adaptive, as in
    ADPCM; the tracking rate is chosen on the training windows). A token's probability is the
    Laplace mass over the amplitudes the token stands for (mulaw.token_edges).

Both score windows (N, L) of tokens as the language model does: targets windows[:, 1:], each
predicted from the samples before it in its window only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from seqmodels.data.audio.mulaw import CLASSES, mu_law_decode, token_edges

ORDER = 32
SMOOTHING = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98)  # candidate tracking rates of the error scale
MIN_SCALE = 1e-5
MIN_PROBABILITY = 1e-30  # a token given no mass costs about 100 bits, not infinity
_CHUNK = 64  # windows per step of the least-squares fit, to bound memory


def unigram_bits(windows: np.ndarray) -> float:
    """Entropy in bits of the symbol distribution of windows[:, 1:]."""
    counts = np.bincount(windows[:, 1:].ravel(), minlength=CLASSES)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def _amplitudes(windows: np.ndarray) -> np.ndarray:
    return mu_law_decode(torch.from_numpy(windows)).double().numpy()


def _predict(x: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """(N, L) → (N, L): Σ_k a_k x[t - k], with zeros before the window."""
    prediction = np.zeros_like(x)
    for k, a in enumerate(coefficients, start=1):
        prediction[:, k:] += a * x[:, :-k]
    return prediction


def _scales(errors: np.ndarray, smoothing: float, initial: float) -> np.ndarray:
    """The Laplace scale before each sample: an exponential average of past |errors|."""
    scales = np.empty_like(errors)
    scale = np.full(errors.shape[0], initial)
    for t in range(errors.shape[1]):
        scales[:, t] = scale
        scale = np.maximum(MIN_SCALE, smoothing * scale + (1 - smoothing) * np.abs(errors[:, t]))
    return scales


def _laplace_bits(
    windows: np.ndarray, prediction: np.ndarray, scales: np.ndarray, edges: np.ndarray
) -> float:
    """Mean -log2 of the Laplace(prediction, scale) mass on each target token's interval."""
    targets = windows[:, 1:]
    lo = (edges[targets] - prediction[:, 1:]) / scales[:, 1:]
    hi = (edges[targets + 1] - prediction[:, 1:]) / scales[:, 1:]
    with np.errstate(over="ignore", invalid="ignore"):
        # each tail in the form that does not cancel: both above the mean, both below, or across
        mass = np.where(
            lo >= 0,
            0.5 * (np.exp(-lo) - np.exp(-hi)),
            np.where(
                hi <= 0, 0.5 * (np.exp(hi) - np.exp(lo)), 1 - 0.5 * (np.exp(lo) + np.exp(-hi))
            ),
        )
    return float(-np.log2(np.maximum(mass, MIN_PROBABILITY)).mean())


@dataclass
class LinearPredictor:
    coefficients: np.ndarray  # (order,): weights of x[t-1] ... x[t-order]
    smoothing: float
    initial_scale: float

    @classmethod
    def fit(cls, windows: np.ndarray, order: int = ORDER) -> LinearPredictor:
        """Least-squares coefficients on training windows (N, L) of tokens, then the scale
        tracking rate that gives them the fewest bits."""
        gram = np.zeros((order, order))
        cross = np.zeros(order)
        for s in range(0, len(windows), _CHUNK):
            x = _amplitudes(windows[s : s + _CHUNK])
            lags = np.zeros((order, *x.shape))
            for k in range(1, order + 1):
                lags[k - 1, :, k:] = x[:, :-k]
            flat = lags.reshape(order, -1)
            gram += flat @ flat.T
            cross += flat @ x.ravel()
        ridge = 1e-9 * np.trace(gram) / order + 1e-12
        coefficients = np.linalg.solve(gram + ridge * np.eye(order), cross)
        x = _amplitudes(windows)
        errors = x - _predict(x, coefficients)
        initial = max(MIN_SCALE, float(np.abs(errors).mean()))
        edges = token_edges().numpy()
        best = min(
            SMOOTHING,
            key=lambda s: _laplace_bits(windows, x - errors, _scales(errors, s, initial), edges),
        )
        return cls(coefficients, best, initial)

    def bits(self, windows: np.ndarray) -> float:
        """Mean bits per target sample of windows (N, L) of tokens."""
        x = _amplitudes(windows)
        prediction = _predict(x, self.coefficients)
        scales = _scales(x - prediction, self.smoothing, self.initial_scale)
        return _laplace_bits(windows, prediction, scales, token_edges().numpy())


def audio_baselines(
    train: np.ndarray, scored: dict[str, np.ndarray]
) -> dict[str, dict[str, float]]:
    """{split: {"unigram": bits, "lpc": bits}} for each split's windows, LPC fitted on `train`."""
    lpc = LinearPredictor.fit(train)
    return {
        split: {"unigram": unigram_bits(windows), "lpc": lpc.bits(windows)}
        for split, windows in scored.items()
    }
