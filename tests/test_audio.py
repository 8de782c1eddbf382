"""nmfkit.audio: separation of a spectrogram's sources, and unmixing of mixed signals.

Quality is measured with the scale-invariant signal-to-distortion ratio (the
projection of the estimate on the reference is the target, the rest the distortion),
so the tests need neither mir_eval nor librosa; benchmarks/audio.py measures
mir_eval's BSS Eval SDR beside librosa.
"""
import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.decomposition import PCA

from nmfkit.audio import (Separation, make_mixed_signals, make_tone_and_noise,
                          plot_separation, separate, spectrogram, unmix)
from nmfkit.metrics import factor_similarity, match_components

SR = 16000


def si_sdr(reference, estimate):
    """10 log10 ‖target‖² / ‖estimate − target‖², target = the projection on reference."""
    target = (estimate @ reference) / (reference @ reference) * reference
    distortion = estimate - target
    return 10 * np.log10((target @ target) / (distortion @ distortion))


def matched_sdr(references, estimates):
    """SI-SDR of each reference with its estimate, under the best pairing."""
    best = None
    for perm in itertools.permutations(range(len(estimates))):
        scores = [si_sdr(r, estimates[j]) for r, j in zip(references, perm)]
        if best is None or np.mean(scores) > np.mean(best):
            best = scores
    return np.array(best)


@pytest.fixture(scope="module")
def tone_and_noise():
    return make_tone_and_noise(random_state=0)


# ------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("n_samples, n_fft, hop", [(512, 512, None), (513, 512, 100),
                                                   (12345, 1024, 256), (8000, 256, 128)])
@pytest.mark.parametrize("n_sources", [1, 2, 3])
def test_sources_are_as_long_as_the_input_and_add_up_to_it(n_samples, n_fft, hop, n_sources):
    rng = np.random.default_rng(n_samples)
    x = rng.standard_normal(n_samples) * np.linspace(0.1, 1.0, n_samples)
    found = separate(x, 8000, n_sources, n_fft=n_fft, hop_length=hop, random_state=0)
    assert isinstance(found, Separation)
    assert found.sources.shape == (n_sources, n_samples)
    assert len(found) == n_sources and len(list(found)) == n_sources
    # the masks partition every bin, and the STFT is inverted exactly
    assert found.masks.min() >= 0 and found.masks.max() <= 1
    np.testing.assert_allclose(found.masks.sum(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(found.sources.sum(axis=0), x, atol=1e-9 * np.abs(x).max())
    if n_sources == 1:
        np.testing.assert_allclose(found.sources[0], x, atol=1e-9)
    # loudest first
    energy = (found.sources ** 2).sum(axis=1)
    assert np.all(np.diff(energy) <= 0)


def test_labelled_outputs(tone_and_noise):
    mixture, _ = tone_and_noise
    found = separate(mixture, SR, 2, n_fft=1024, n_components=3, random_state=0)
    n_freq, n_frames = 513, found.times.size
    assert found.masks.shape == (2, n_freq, n_frames)
    assert found.templates.shape == (n_freq, 3) and found.activations.shape == (n_frames, 3)
    np.testing.assert_allclose(found.templates.index, np.arange(n_freq) * SR / 1024)
    np.testing.assert_allclose(found.activations.index, found.times)
    assert found.templates.index.name == "frequency (Hz)"
    assert found.activations.index.name == "time (s)"
    assert sorted(set(found.labels.tolist())) == [0, 1] and found.labels.size == 3
    assert (found.templates.to_numpy() >= 0).all() and (found.activations.to_numpy() >= 0).all()
    assert found.model.components_.shape == (3, n_frames)
    assert "n_sources=2" in repr(found)


def test_same_seed_same_sources_and_scale_equivariance(tone_and_noise):
    mixture, _ = tone_and_noise
    a = separate(mixture, SR, 2, random_state=3)
    b = separate(mixture, SR, 2, random_state=3)
    np.testing.assert_array_equal(a.sources, b.sources)
    # the spectrogram is fitted relative to its maximum: a louder input gives louder,
    # otherwise identical, sources (int16 PCM samples included)
    pcm = np.round(mixture / np.abs(mixture).max() * 32000).astype(np.int16)
    c = separate(pcm, SR, 2, random_state=3)
    d = separate(pcm.astype(float) / 32000, SR, 2, random_state=3)
    np.testing.assert_allclose(c.sources / 32000, d.sources, atol=1e-8)


# ------------------------------------------------------------------------ quality
@pytest.mark.parametrize("beta_loss, bound", [("kullback-leibler", 15.0),
                                              ("itakura-saito", 10.0)])
def test_tone_and_noise_bursts_are_separated(tone_and_noise, beta_loss, bound):
    mixture, truth = tone_and_noise
    found = separate(mixture, SR, 2, beta_loss=beta_loss, random_state=0)
    sdr = matched_sdr(truth, found.sources)
    assert sdr.min() > bound, sdr
    # and each source gains on the mixture itself taken as its estimate (the tone, the
    # louder, scores 7.4 dB as the mixture, the noise -7.5 dB)
    unseparated = np.array([si_sdr(s, mixture) for s in truth])
    assert (sdr - unseparated).min() > 8.0, (sdr, unseparated)
    # the tone, the louder source, comes first
    assert si_sdr(truth[0], found.sources[0]) > bound


@pytest.mark.parametrize("grouping", ["activations", "spectra"])
def test_more_components_than_sources_are_grouped(tone_and_noise, grouping):
    mixture, truth = tone_and_noise
    found = separate(mixture, SR, 2, n_components=4, grouping=grouping, random_state=0)
    assert found.labels.size == 4 and set(found.labels.tolist()) == {0, 1}
    assert matched_sdr(truth, found.sources).min() > 12.0
    # explicit labels are used as given
    given = separate(mixture, SR, 2, n_components=4, grouping=found.labels, random_state=0)
    np.testing.assert_allclose(given.sources, found.sources)


def test_a_beta_between_the_named_losses(tone_and_noise):
    mixture, truth = tone_and_noise
    found = separate(mixture, SR, 2, beta_loss=0.5, random_state=0)
    assert found.spectrogram_power == 1.0  # the magnitude for beta > 0
    assert matched_sdr(truth, found.sources).min() > 15.0


def test_harder_masks_with_a_larger_mask_power(tone_and_noise):
    mixture, _ = tone_and_noise
    soft = separate(mixture, SR, 2, random_state=0)
    hard = separate(mixture, SR, 2, mask_power=8.0, random_state=0)

    def binary_share(masks):
        return float(np.mean((masks[0] < 0.01) | (masks[0] > 0.99)))

    assert binary_share(hard.masks) > binary_share(soft.masks)


# ------------------------------------------------------------------- mixed signals
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nmf_recovers_mixed_signals_and_pca_does_not(seed):
    X, S, A = make_mixed_signals(random_state=seed)
    assert X.shape == (2000, 100) and (X >= 0).all()
    found = unmix(X, 3, random_state=0)
    nmf_score = factor_similarity(S.T, found.sources.T)
    assert nmf_score >= 0.9
    assert (found.sources >= 0).all() and (found.mixing >= 0).all()
    np.testing.assert_allclose(found.mixing.mean(axis=0), 1.0)
    np.testing.assert_allclose(found.sources @ found.mixing.T, X, rtol=0, atol=0.05 * X.max())
    # PCA's components, even with each sign allowed to flip, are mixtures of the sources
    P = PCA(3).fit_transform(X).T
    _, signed = match_components(S.T, P)
    _, either_sign = match_components(S.T, np.vstack([P, -P]))
    assert signed.mean() < 0.85 and either_sign.mean() < 0.85
    assert nmf_score - either_sign.mean() > 0.1


def test_unmix_keeps_the_labels_of_a_dataframe():
    X, S, _ = make_mixed_signals(n_samples=300, n_measurements=12, random_state=0)
    frame = pd.DataFrame(X, index=pd.Index(np.arange(300) * 0.01, name="time"),
                         columns=[f"sensor {i}" for i in range(12)])
    sources, mixing = unmix(frame, 3, random_state=0)
    assert list(sources.index) == list(frame.index) and sources.shape == (300, 3)
    assert list(mixing.index) == list(frame.columns) and list(mixing.columns) == list(
        sources.columns)


# ---------------------------------------------------------------- helpers, figures
def test_spectrogram_of_a_sine():
    t = np.arange(SR) / SR
    x = np.sin(2 * np.pi * 1000 * t)
    S = spectrogram(x, SR, n_fft=512)
    assert S.shape[0] == 257 and S.index.name == "frequency (Hz)"
    assert float(S.mean(axis=1).idxmax()) == 1000.0
    power = spectrogram(x, SR, n_fft=512, scale="power")
    np.testing.assert_allclose(power.to_numpy(), S.to_numpy() ** 2)
    db = spectrogram(x, SR, n_fft=512, scale="db")
    assert db.to_numpy().max() == 0.0 and db.to_numpy().min() >= -120.0


def test_the_default_hop_of_a_tiny_frame_is_one_sample():
    # n_fft // 4 is 0 for n_fft < 4: the default hop must still be a valid one
    x = np.random.default_rng(0).standard_normal(50)
    assert spectrogram(x, SR, n_fft=2).shape == (2, 51)
    found = separate(x, SR, 1, n_fft=3)
    np.testing.assert_allclose(found.sources[0], x, atol=1e-9)


def test_plot_separation(tone_and_noise):
    mixture, truth = tone_and_noise
    found = separate(mixture, SR, 2, n_fft=1024, random_state=0)
    fig = plot_separation(found, references=truth, title="tone and noise")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2 * 3 + 1  # waveform and spectrogram per row, one colour bar
    assert isinstance(found.plot(), Figure)
    with pytest.raises(ValueError, match="references have shape"):
        plot_separation(found, references=truth[:, :100])
    with pytest.raises(TypeError, match="pass what nmfkit.audio.separate returned"):
        plot_separation(truth)


# ---------------------------------------------------------------------- bad input
GOOD = np.random.default_rng(0).standard_normal(4096)

BAD = [
    ("2-D signal", dict(signal=np.zeros((4096, 2))), ValueError,
     r"signal must be 1-D .*shape \(4096, 2\).*signal\[:, 0\]"),
    ("NaN sample", dict(signal=np.where(np.arange(4096) == 7, np.nan, GOOD)), ValueError,
     r"1 NaN or infinite sample\(s\) \(first at sample 7\)"),
    ("infinite sample", dict(signal=np.where(np.arange(4096) >= 10, np.inf, GOOD)),
     ValueError, r"4086 NaN or infinite sample\(s\) \(first at sample 10\)"),
    ("complex signal", dict(signal=GOOD + 1j), ValueError, r"signal is complex"),
    ("text signal", dict(signal=np.array(["a", "b"])), TypeError, r"must hold real numbers"),
    ("a path", dict(signal="song.wav"), TypeError, r"scipy.io.wavfile.read"),
    ("too short", dict(signal=GOOD[:1000]), ValueError,
     r"1000 sample\(s\), fewer than one STFT frame \(n_fft=2048\)"),
    ("all zeros", dict(signal=np.zeros(4096)), ValueError, r"all zeros"),
    ("zero sample rate", dict(sample_rate=0), ValueError,
     r"sample_rate must be a positive finite number; got 0"),
    ("NaN sample rate", dict(sample_rate=float("nan")), ValueError, r"sample_rate must be"),
    ("no sources", dict(n_sources=0), ValueError, r"n_sources must be an int >= 1; got 0"),
    ("float sources", dict(n_sources=2.0), ValueError, r"n_sources must be an int"),
    ("hop > n_fft", dict(n_fft=512, hop_length=1024), ValueError,
     r"hop_length=1024 is larger than n_fft=512"),
    ("bad n_fft", dict(n_fft=1), ValueError, r"n_fft must be an int >= 2"),
    ("not invertible", dict(n_fft=512, hop_length=512), ValueError,
     r"cannot be inverted.*smaller hop_length"),
    ("bad window", dict(window="triangle-ish"), ValueError, r"window='triangle-ish'"),
    ("bad loss", dict(beta_loss="euclid"), ValueError, r"beta_loss must be one of"),
    ("fewer components", dict(n_sources=3, n_components=2), ValueError,
     r"n_components must be an int >= 3"),
    ("bad grouping", dict(n_components=3, grouping="timbre"), ValueError,
     r"grouping must be 'activations', 'spectra'"),
    ("labels missing a source", dict(n_components=3, grouping=[0, 0, 0]), ValueError,
     r"no component for source 1"),
    ("labels of wrong length", dict(n_components=3, grouping=[0, 1]), ValueError,
     r"one int per component \(n_components=3\)"),
    ("negative mask power", dict(mask_power=-1), ValueError, r"mask_power must be"),
    ("unknown keyword", dict(n_ffts=512), TypeError,
     r"unexpected keyword argument\(s\) \['n_ffts'\]"),
]


@pytest.mark.parametrize("case, changes, error, message", BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_a_clear_error(case, changes, error, message):
    args = dict(signal=GOOD, sample_rate=SR, n_sources=2)
    args.update(changes)
    with pytest.raises(error, match=message):
        separate(**args)


def test_bad_input_to_the_helpers():
    with pytest.raises(ValueError, match="scale must be"):
        spectrogram(GOOD, SR, scale="log")
    with pytest.raises(ValueError, match="sample_rate must be"):
        spectrogram(GOOD, -1)
    with pytest.raises(ValueError, match="n_sources must be an int >= 1"):
        unmix(np.ones((5, 4)), 0)
    with pytest.raises(ValueError, match="Negative values"):
        unmix(-np.ones((5, 4)), 2)
