"""Variant scores against the same numbers computed directly from the model, and the checks."""

import numpy as np
import pytest
import torch

from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.data.dna.tokens import COMPLEMENT, PAD_ID, VOCAB_SIZE, encode, reverse_complement
from seqmodels.data.dna.vcf import Variant
from seqmodels.errors import UserError
from seqmodels.inference.variants import check_variants, reference_window, score_variants
from seqmodels.io.model_card import ModelCard
from seqmodels.models import ModelConfig
from seqmodels.models.pretrained import build_model

WINDOW = 16


def tiny(kind: str, rc_average: bool = False):
    config = ModelConfig(
        d_model=16, n_layer=2, d_state=4, vocab_size=VOCAB_SIZE, complement=COMPLEMENT
    )
    info = {"kind": kind, "model": config.to_dict(), "class_names": ["a", "b", "c"]}
    info |= {"alphabet": "dna", "pad_id": PAD_ID, "rc_average": rc_average}
    torch.manual_seed(0)
    model = build_model(ModelCard.from_dict(info)).eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("out_proj.weight") or name.startswith("head"):
                param.mul_(5)
    return model


@pytest.fixture
def genome(tmp_path):
    rng = np.random.default_rng(0)
    chr1 = "".join(rng.choice(list("ACGT"), 60))
    path = tmp_path / "ref.fa"
    path.write_text(f">chr1\n{chr1}\n>chrM short\nACGTTGCA\n")
    return GenomeStore.open(path, tmp_path / "cache"), chr1


def variant(seq: str, pos: int, ref_len: int, alts: tuple, chrom="chr1", line=1) -> Variant:
    return Variant(line, chrom, pos, ".", seq[pos - 1 : pos - 1 + ref_len], alts)


def test_windows_centre_the_ref_allele_and_stay_inside_the_record():
    assert reference_window(100, 50, 1, 16) == (42, 58)  # a SNV at offset 16 // 2
    assert reference_window(100, 50, 4, 16) == (44, 60)  # REF 50..54: its middle in the middle
    assert reference_window(100, 2, 1, 16) == (0, 16)  # moved right at the record's start
    assert reference_window(100, 98, 2, 16) == (84, 100)  # moved left at its end
    assert reference_window(8, 3, 1, 16) == (0, 8)  # a record shorter than the window


def direct_probs(model, tokens: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        ids = torch.from_numpy(tokens.astype(np.int64))[None]
        return model(ids).double().softmax(-1)[0].numpy()


def direct_log_likelihood(model, tokens: np.ndarray) -> float:
    with torch.no_grad():
        ids = torch.from_numpy(tokens.astype(np.int64))[None]
        logits = model(ids)[0][0].double()
        logits[:, PAD_ID] = float("-inf")
        logp = logits.log_softmax(-1)
        return float(sum(logp[t - 1, ids[0, t]] for t in range(1, ids.shape[1])))


def alt_window(seq: str, start: int, end: int, pos: int, ref: str, alt: str) -> np.ndarray:
    return encode(seq[start : pos - 1] + alt + seq[pos - 1 + len(ref) : end])


@pytest.mark.parametrize("rc_average", [False, True])
def test_classifier_deltas_are_the_strand_averaged_probability_changes(genome, rc_average):
    store, seq = genome
    model = tiny("classifier", rc_average)
    variants = [variant(seq, 30, 1, ("A", "GT")), variant(seq, 3, 3, ("C",))]
    check_variants(variants, store, WINDOW, "v.vcf")
    scores = list(score_variants(model, "classifier", store, variants, WINDOW, batch_size=3))
    assert [(s.variant.pos, s.alt) for s in scores] == [(30, "A"), (30, "GT"), (3, "C")]
    for s in scores:
        v = s.variant
        ref = encode(seq[s.start : s.end])
        alt = alt_window(seq, s.start, s.end, v.pos, v.ref, s.alt)
        forward = direct_probs(model, alt) - direct_probs(model, ref)
        reverse = direct_probs(model, reverse_complement(alt)) - direct_probs(
            model, reverse_complement(ref)
        )
        np.testing.assert_allclose(s.scores, (forward + reverse) / 2, rtol=1e-5, atol=1e-7)
        assert s.end - s.start == WINDOW and np.abs(s.scores).max() > 1e-4
        np.testing.assert_allclose(s.scores.sum(), 0, atol=1e-6)  # probabilities move, sum stays


def test_lm_llr_is_the_difference_of_summed_log_probabilities(genome):
    store, seq = genome
    model = tiny("lm")
    # a SNV, an insertion, a deletion (VCF's padding base first), and one near the end
    variants = [
        variant(seq, 30, 1, ("A",)),
        variant(seq, 20, 1, (seq[19] + "GGA",)),
        variant(seq, 40, 4, (seq[39],)),
        variant(seq, 59, 1, ("C",)),
    ]
    check_variants(variants, store, WINDOW, "v.vcf")
    scores = list(score_variants(model, "lm", store, variants, WINDOW, pad_id=PAD_ID))
    for s in scores:
        v = s.variant
        ref = encode(seq[s.start : s.end])
        alt = alt_window(seq, s.start, s.end, v.pos, v.ref, s.alt)
        expected = direct_log_likelihood(model, alt) - direct_log_likelihood(model, ref)
        np.testing.assert_allclose(s.scores, [expected], rtol=1e-5, atol=1e-6)
    # streamed in segments shorter than the windows, with the state carried: the same
    streamed = list(score_variants(model, "lm", store, variants, WINDOW, pad_id=PAD_ID, segment=5))
    for a, b in zip(scores, streamed, strict=True):
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5, atol=1e-6)


def refused(store, v: Variant, window: int = WINDOW) -> str:
    with pytest.raises(UserError) as error:
        check_variants([v], store, window, "v.vcf")
    assert "\n" not in str(error.value)
    return str(error.value)


def test_bad_rows_are_refused_by_line(genome):
    store, seq = genome
    wrong = "A" if seq[9] != "A" else "C"
    message = refused(store, Variant(7, "chr1", 10, ".", wrong, ("G",)))
    assert message.startswith("v.vcf, line 7: REF") and "does not match the genome" in message
    message = refused(store, Variant(3, "1", 10, ".", seq[9], ("G",)))
    assert "chromosome '1' is not in ref.fa" in message and "'chr'-prefix mismatch" in message
    message = refused(store, Variant(4, "MT", 10, ".", "A", ("G",)))
    assert "chromosome 'MT'" in message and "prefix" not in message
    assert "runs past the end of chrM" in refused(store, Variant(5, "chrM", 8, ".", "AC", ("A",)))
    assert "longer than window=2" in refused(store, variant(seq, 5, 3, ("A",)), window=2)
