"""Sources from mixtures: audio separation on the spectrogram, and unmixing of signals.

A sound's magnitude (or power) spectrogram is non-negative, and sounds add up in it
approximately: NMF of the spectrogram V ≈ WH finds spectral *templates* (columns of W)
and their *activations* over time (rows of H), each component a recurring spectral
shape such as a note, a tone or a burst of noise (Smaragdis & Brown 2003; Virtanen
2007).  :func:`separate` fits that model with the β-divergence the field uses —
Kullback–Leibler on the magnitude spectrogram, or Itakura–Saito on the power spectrogram
(Févotte, Bertin & Durrieu 2009) — turns each source's part of the model into a soft
mask, and applies the masks to the complex short-time Fourier transform, so that every
source keeps the mixture's phase and the sources add up to the mixture.

:func:`unmix` is the same idea without the spectrogram: many non-negative measurements,
each a different non-negative mixture of a few non-negative sources, X ≈ S Aᵀ, the
field's classic "mixed signals" example (where PCA's signed components mix the sources).
:func:`make_mixed_signals` and :func:`make_tone_and_noise` generate the two standard
test problems.

This module is an application layer over :class:`nmfkit.NMF` (importable as
``nmfkit.audio``); it never calls a solver directly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
import pandas as pd

from ._validation import BETA_NAMES, beta_value
from .estimators.nmf import NMF

__all__ = [
    "separate",
    "Separation",
    "spectrogram",
    "plot_separation",
    "unmix",
    "Unmixing",
    "make_mixed_signals",
    "make_tone_and_noise",
]

# For β ≤ 0 the divergence is undefined at 0 (silent bins are exact zeros after digital
# silence): the fitted spectrogram is floored at -80 dB below its loudest bin.
_FLOOR_DB = 80.0
_GROUPINGS = ("activations", "spectra")


# --------------------------------------------------------------------------- checks
def _is_int(value):
    return isinstance(value, Integral) and not isinstance(value, (bool, np.bool_))


def _is_real(value):
    return isinstance(value, Real) and not isinstance(value, (bool, np.bool_))


def _check_int(value, name, who, *, low, what=""):
    if not _is_int(value) or value < low:
        raise ValueError(f"{who}: {name} must be an int >= {low}{what}; got {value!r}.")
    return int(value)


def _check_positive(value, name, who):
    if not _is_real(value) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{who}: {name} must be a positive finite number; got {value!r}.")
    return float(value)


def _check_signal(signal, who):
    """The signal as a finite 1-D float64 array, or a ValueError/TypeError saying why not."""
    if isinstance(signal, (str, bytes)):
        raise TypeError(f"{who}: signal must be a 1-D array of samples; got a "
                        f"{type(signal).__name__}. To read a WAV file use "
                        "scipy.io.wavfile.read(path), which returns (sample_rate, samples).")
    x = np.asarray(signal)
    if np.iscomplexobj(x):
        raise ValueError(f"{who}: signal is complex; pass the real-valued samples of the "
                         "sound (the function computes the spectrogram itself).")
    if x.dtype == bool or not (np.issubdtype(x.dtype, np.integer)
                               or np.issubdtype(x.dtype, np.floating)):
        raise TypeError(f"{who}: signal must hold real numbers (float, or int PCM samples); "
                        f"got dtype {x.dtype}.")
    if x.ndim != 1:
        advice = (" For a multi-channel recording (samples x channels) pass one channel, "
                  "signal[:, 0], or their mean, signal.mean(axis=1)."
                  if x.ndim == 2 else "")
        raise ValueError(f"{who}: signal must be 1-D (one channel of samples); got "
                         f"{x.ndim} dimension(s), shape {x.shape}.{advice}")
    x = x.astype(np.float64)
    bad = ~np.isfinite(x)
    if bad.any():
        raise ValueError(f"{who}: signal has {int(bad.sum())} NaN or infinite sample(s) "
                         f"(first at sample {int(np.flatnonzero(bad)[0])}); pass finite "
                         "samples — remove or interpolate the bad ones.")
    return x


def _check_frames(n_samples, n_fft, hop_length, who):
    n_fft = _check_int(n_fft, "n_fft", who, low=2, what=" (samples per STFT frame)")
    hop_length = max(1, n_fft // 4) if hop_length is None else hop_length
    hop_length = _check_int(hop_length, "hop_length", who, low=1,
                            what=" (samples between frames)")
    if hop_length > n_fft:
        raise ValueError(f"{who}: hop_length={hop_length} is larger than n_fft={n_fft}: "
                         "frames would skip samples. Use hop_length <= n_fft (n_fft // 4 "
                         "is usual).")
    if n_samples < n_fft:
        raise ValueError(f"{who}: the signal has {n_samples} sample(s), fewer than one STFT "
                         f"frame (n_fft={n_fft}); pass a longer signal or a smaller n_fft.")
    return n_fft, hop_length


def _stft(n_fft, hop_length, window, sample_rate, who):
    """scipy's ShortTimeFFT; its dual window makes istft(stft(x)) = x exactly."""
    from scipy.signal import ShortTimeFFT, get_window

    try:
        win = get_window(window, n_fft)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{who}: window={window!r} is not a window scipy.signal.get_window "
                         f"knows ({error}); use e.g. 'hann', 'hamming' or ('kaiser', 8).") \
            from None
    try:
        transform = ShortTimeFFT(win, hop_length, sample_rate)
        transform.dual_win  # noqa: B018 - computed here so that a bad pair fails here
    except ValueError:
        raise ValueError(f"{who}: the STFT with window={window!r}, n_fft={n_fft} and "
                         f"hop_length={hop_length} cannot be inverted (the shifted windows "
                         "leave samples uncovered); use a smaller hop_length, e.g. "
                         f"n_fft // 4 = {max(1, n_fft // 4)}.") from None
    return transform


# --------------------------------------------------------------------- spectrogram
def spectrogram(signal, sample_rate, *, n_fft=2048, hop_length=None, window="hann",
                scale="magnitude"):
    """The short-time Fourier spectrogram of a signal, labelled by frequency and time.

    Parameters
    ----------
    signal : array-like of shape (n_samples,)
        One channel of real samples (float, or int PCM as ``scipy.io.wavfile`` reads).
    sample_rate : float
        Samples per second (Hz).
    n_fft : int, default=2048
        Samples per frame (the window length); ``n_fft // 2 + 1`` frequencies.
    hop_length : int, optional
        Samples between frames; default ``n_fft // 4``.
    window : str or tuple, default='hann'
        Any window :func:`scipy.signal.get_window` knows.
    scale : {'magnitude', 'power', 'db'}, default='magnitude'
        ``|Z|``, ``|Z|²``, or decibels relative to the loudest bin,
        ``20 log10(|Z| / max |Z|)``, floored at -120 dB.

    Returns
    -------
    pandas.DataFrame of shape (n_fft // 2 + 1, n_frames)
        Rows indexed by frequency (Hz), columns by the time of each frame's centre (s).
        Frames overhang both ends of the signal (scipy's ``ShortTimeFFT``), so the first
        centre is at or before 0 s.

    Raises
    ------
    ValueError
        For a signal that is not 1-D or not finite, shorter than ``n_fft``, a
        non-positive sample rate, or an unknown scale or window.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.audio import spectrogram
    >>> t = np.arange(8000) / 8000
    >>> S = spectrogram(np.sin(2 * np.pi * 1000 * t), 8000, n_fft=256)
    >>> S.shape
    (129, 128)
    >>> float(S.mean(axis=1).idxmax())  # the loudest frequency, in Hz
    1000.0
    """
    who = "spectrogram"
    x = _check_signal(signal, who)
    sample_rate = _check_positive(sample_rate, "sample_rate", who)
    if scale not in ("magnitude", "power", "db"):
        raise ValueError(f"{who}: scale must be 'magnitude', 'power' or 'db'; got {scale!r}.")
    n_fft, hop_length = _check_frames(x.size, n_fft, hop_length, who)
    transform = _stft(n_fft, hop_length, window, sample_rate, who)
    magnitude = np.abs(transform.stft(x))
    if scale == "power":
        values = magnitude ** 2
    elif scale == "db":
        top = magnitude.max()
        values = (np.full_like(magnitude, -120.0) if top == 0 else
                  20 * np.log10(np.maximum(magnitude / top, 1e-6)))
    else:
        values = magnitude
    return pd.DataFrame(values,
                        index=pd.Index(transform.f, name="frequency (Hz)"),
                        columns=pd.Index(transform.t(x.size), name="time (s)"))


# ---------------------------------------------------------------------- separation
@dataclass(frozen=True, eq=False)
class Separation:
    """The sources :func:`separate` found in a mixture.

    Attributes
    ----------
    sources : ndarray of shape (n_sources, n_samples)
        One signal per source, each as long as the mixture, loudest first; they add up
        to the mixture (to rounding), since the masks share every time-frequency bin out.
    sample_rate : float
        Of the mixture and the sources (Hz).
    mixture : ndarray of shape (n_samples,)
        The input signal (float64).
    masks : ndarray of shape (n_sources, n_frequencies, n_frames)
        The soft masks, in [0, 1] and summing to 1 over the sources at every bin.
    frequencies : ndarray of shape (n_frequencies,)
        Hz, the rows of the spectrogram.
    times : ndarray of shape (n_frames,)
        Seconds, the centre of each frame.
    labels : ndarray of int of shape (n_components,)
        The source each NMF component was given to (numbered as ``sources``).
    templates : pandas.DataFrame of shape (n_frequencies, n_components)
        W: the spectrum of each component, indexed by frequency (Hz).
    activations : pandas.DataFrame of shape (n_frames, n_components)
        Hᵀ: the gain of each component in each frame, indexed by time (s).
    model : nmfkit.NMF
        The fitted factorization of the spectrogram (frequencies x frames).
    spectrogram_power : float
        The exponent p of the spectrogram fitted, |Z|^p (1: magnitude, 2: power).
    """

    sources: np.ndarray
    sample_rate: float
    mixture: np.ndarray = field(repr=False)
    masks: np.ndarray = field(repr=False)
    frequencies: np.ndarray = field(repr=False)
    times: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    templates: pd.DataFrame = field(repr=False)
    activations: pd.DataFrame = field(repr=False)
    model: object = field(repr=False)
    spectrogram_power: float = 1.0

    @property
    def n_sources(self):
        """The number of sources."""
        return self.sources.shape[0]

    def __len__(self):
        return self.n_sources

    def __iter__(self):
        return iter(self.sources)

    def __getitem__(self, i):
        return self.sources[i]

    def __repr__(self):
        return (f"Separation(n_sources={self.n_sources}, n_samples={self.sources.shape[1]}, "
                f"sample_rate={self.sample_rate:g}, n_components={self.labels.size})")

    def plot(self, **kwargs):
        """:func:`plot_separation` of this separation."""
        return plot_separation(self, **kwargs)


def _check_separate_args(n_sources, beta_loss, spectrogram_power, mask_power, n_components,
                         grouping, nmf_params, who):
    n_sources = _check_int(n_sources, "n_sources", who, low=1)
    if not ((isinstance(beta_loss, str) and beta_loss in BETA_NAMES)
            or (_is_real(beta_loss) and np.isfinite(beta_loss))):
        raise ValueError(f"{who}: beta_loss must be one of {BETA_NAMES} or a finite float "
                         f"β; got {beta_loss!r}.")
    beta = beta_value(beta_loss)
    if spectrogram_power is None:
        # Itakura-Saito NMF of the power spectrogram is the maximum-likelihood fit of a
        # sum of Gaussian components (Févotte et al. 2009); KL and the rest are used on
        # the magnitude.
        spectrogram_power = 2.0 if beta <= 0 else 1.0
    spectrogram_power = _check_positive(spectrogram_power, "spectrogram_power", who)
    mask_power = _check_positive(mask_power, "mask_power", who)
    n_components = n_sources if n_components is None else n_components
    n_components = _check_int(n_components, "n_components", who, low=n_sources,
                              what=f" (n_sources={n_sources}) or None")
    if isinstance(grouping, str):
        if grouping not in _GROUPINGS:
            raise ValueError(f"{who}: grouping must be 'activations', 'spectra' or a "
                             f"sequence of source numbers; got {grouping!r}.")
    else:
        labels = np.asarray(grouping)
        if labels.shape != (n_components,) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"{who}: grouping given as labels needs one int per component "
                             f"(n_components={n_components}); got {grouping!r}.")
        missing = sorted(set(range(n_sources)) - set(labels.tolist()))
        if labels.min() < 0 or labels.max() >= n_sources or missing:
            raise ValueError(f"{who}: grouping labels must be source numbers 0 … "
                             f"{n_sources - 1}, each used at least once; got "
                             f"{labels.tolist()}" + (f" (no component for source "
                                                     f"{missing[0]})." if missing else "."))
    allowed = set(NMF().get_params()) - {"n_components", "beta_loss", "n_init", "max_iter",
                                         "tol", "random_state"}
    unknown = sorted(set(nmf_params) - allowed)
    if unknown:
        raise TypeError(f"{who}() got unexpected keyword argument(s) {unknown}; the extra "
                        "keywords go to nmfkit.NMF, which takes "
                        f"{sorted(allowed)}.")
    return n_sources, beta, spectrogram_power, mask_power, n_components


def _correlation_distances(F):
    """1 - Pearson correlation between the rows of F (a constant row: distance 1)."""
    U = F - F.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(U, axis=1)
    varied = norms > 0
    U[varied] /= norms[varied, None]
    U[~varied] = 0.0
    D = 1.0 - np.clip(U @ U.T, -1.0, 1.0)
    np.fill_diagonal(D, 0.0)
    return D


def _group(W, H, n_sources, grouping):
    """The source of each component: given labels, or average-linkage clusters of the
    components' activations (components that sound together, e.g. the partials of one
    note) or of their log-spectra (components of one timbre)."""
    k = W.shape[1]
    if not isinstance(grouping, str):
        return np.asarray(grouping, dtype=np.intp)
    if k == n_sources:
        return np.arange(k)
    from scipy.cluster.hierarchy import cut_tree, linkage
    from scipy.spatial.distance import squareform

    # Compared in decibels: correlations of the linear values are ruled by the few
    # loudest bins or frames, the log shows the shape (floored at -60 dB of each
    # component's peak for activations, -120 dB of the loudest template for spectra).
    if grouping == "activations":
        features = np.log(H + 1e-3 * H.max(axis=1, keepdims=True) + np.finfo(float).tiny)
    else:
        features = np.log(W.T + 1e-6 * W.max())
    D = _correlation_distances(np.asarray(features, dtype=np.float64))
    tree = linkage(squareform(D, checks=False), method="average")
    return cut_tree(tree, n_clusters=n_sources).ravel().astype(np.intp)


def separate(signal, sample_rate, n_sources, *, beta_loss="kullback-leibler", n_fft=2048,
             hop_length=None, window="hann", spectrogram_power=None, mask_power=1.0,
             n_components=None, grouping="activations", n_init=4, max_iter=500, tol=1e-4,
             random_state=None, **nmf_params):
    """Separate a one-channel mixture into sources by NMF of its spectrogram.

    1. Z = STFT(signal) (:class:`scipy.signal.ShortTimeFFT`); V = |Z|^p.
    2. V ≈ WH by :class:`nmfkit.NMF` with the β-divergence ``beta_loss`` and
       ``n_components`` components (W: spectral templates, H: activations).
    3. Components are grouped into ``n_sources`` sources; source s is modelled by
       V̂_s = Σ_{j in s} w_j h_j.
    4. Soft masks M_s = V̂_s^α / Σ_r V̂_r^α (α = ``mask_power``; with the power
       spectrogram, p = 2 and α = 1, this is the Wiener filter of the fitted model).
    5. source_s = ISTFT(M_s ⊙ Z), cut to the input's length.

    The masks sum to 1 at every bin and the STFT is inverted exactly, so the sources add
    up to the mixture.

    Parameters
    ----------
    signal : array-like of shape (n_samples,)
        One channel of real samples (float, or int PCM as ``scipy.io.wavfile`` reads),
        at least ``n_fft`` of them.
    sample_rate : float
        Samples per second (Hz); it labels times and frequencies.
    n_sources : int
        How many signals to return (1 returns the mixture itself).
    beta_loss : {'kullback-leibler', 'itakura-saito', 'frobenius'} or float, \
default='kullback-leibler'
        The β-divergence NMF fits: KL (β = 1) on the magnitude spectrogram is the usual
        choice; Itakura–Saito (β = 0) on the power spectrogram is scale-invariant, so
        quiet parts count as much as loud ones.
    n_fft : int, default=2048
        Samples per STFT frame.  Longer frames resolve frequencies finer and time
        coarser (2048 samples is 128 ms at 16 kHz).
    hop_length : int, optional
        Samples between frames; default ``n_fft // 4``.
    window : str or tuple, default='hann'
        Any window :func:`scipy.signal.get_window` knows.
    spectrogram_power : float, optional
        The exponent p of V = |Z|^p: default 2 (power) for β ≤ 0, else 1 (magnitude).
        For β ≤ 0, V is floored at 80 dB below its maximum, since the divergence is
        undefined at 0.
    mask_power : float, default=1.0
        The exponent α of the masks; larger is harder (α → ∞ gives binary masks).
    n_components : int, optional
        Components of the NMF, at least ``n_sources``; default ``n_sources``.  More
        components than sources lets one source take several spectral shapes (a
        source of several notes); they are then grouped by ``grouping``.
    grouping : {'activations', 'spectra'} or array-like of int, default='activations'
        How components become sources when ``n_components > n_sources``: clusters
        (average linkage on correlation distance) of the activations (components active
        at the same times belong together) or of the log-spectra (components of one
        timbre); or the source of each component, e.g. ``[0, 0, 1]``.
    n_init : int, default=4
        Fits from different starts (the first from ``init``, NNDSVDa by default, the
        others random); the lowest objective is kept.  Spectrogram fits are small and
        the β-divergences for β < 1 have poor local minima (Itakura–Saito from NNDSVDa
        often lands in one), so several starts are the default.
    max_iter, tol, random_state
        As :class:`nmfkit.NMF` (``max_iter`` defaults higher, for fits to convergence).
    **nmf_params
        Any other :class:`nmfkit.NMF` parameter (``solver``, ``init``, ``alpha_H``,
        ``l1_ratio``, ...).

    Returns
    -------
    Separation
        ``.sources`` (n_sources x n_samples, loudest first), ``.masks``, ``.templates``,
        ``.activations``, ``.labels``, ``.model``; iterating over it gives the sources
        (``voice, noise = separate(x, sr, 2)``), and ``.plot()`` draws them.

    Raises
    ------
    ValueError
        Before any work, for a signal that is not 1-D, not finite, all zeros, or shorter
        than ``n_fft``; a non-positive sample rate; ``n_sources < 1``; a bad
        ``n_fft``, ``hop_length``, window, exponent, ``n_components`` or ``grouping``.
    TypeError
        For a signal that is not numbers, or a keyword :class:`nmfkit.NMF` does not take.

    Notes
    -----
    Unsupervised NMF separates sources that differ in spectrum and in when they sound
    (a steady tone and bursts of noise, a bass line and a hi-hat); two voices of the same
    speaker are beyond it.  The sources come in no meaningful order other than loudness.

    References
    ----------
    Smaragdis & Brown (2003), Non-negative matrix factorization for polyphonic music
    transcription. Virtanen (2007), Monaural sound source separation by nonnegative matrix
    factorization with temporal continuity and sparseness criteria. Févotte, Bertin &
    Durrieu (2009), Nonnegative matrix factorization with the Itakura-Saito divergence.

    Examples
    --------
    >>> from nmfkit.audio import make_tone_and_noise, separate
    >>> mixture, truth = make_tone_and_noise(sample_rate=8000, random_state=0)
    >>> found = separate(mixture, 8000, 2, n_fft=512, random_state=0)
    >>> found.sources.shape
    (2, 16000)
    >>> bool(abs(found.sources.sum(axis=0) - mixture).max() < 1e-9)
    True
    """
    who = "separate"
    x = _check_signal(signal, who)
    sample_rate = _check_positive(sample_rate, "sample_rate", who)
    n_sources, beta, p, alpha, k = _check_separate_args(
        n_sources, beta_loss, spectrogram_power, mask_power, n_components, grouping,
        nmf_params, who)
    n_fft, hop_length = _check_frames(x.size, n_fft, hop_length, who)
    if not np.any(x):
        raise ValueError(f"{who}: the signal is all zeros ({x.size} samples): there is no "
                         "sound to separate.")
    transform = _stft(n_fft, hop_length, window, sample_rate, who)

    Z = transform.stft(x)
    V = np.abs(Z) ** p
    # Both divergences used here are scale-equivariant, so fitting V / max V changes
    # nothing but keeps the solver's numbers near 1 for PCM-scaled input.
    V /= V.max()
    if beta <= 0:
        V = np.maximum(V, 10.0 ** (-_FLOOR_DB * p / 20.0))
    model = NMF(n_components=k, beta_loss=beta_loss, n_init=n_init, max_iter=max_iter,
                tol=tol, random_state=random_state, **nmf_params)
    W = model.fit_transform(V)
    H = model.components_
    labels = _group(W, H, n_sources, grouping)

    models = np.stack([W[:, labels == s] @ H[labels == s] for s in range(n_sources)])
    # Powers of the model relative to its largest value, so that α up to ~30 neither
    # overflows nor underflows to 0/0 in the bins that matter.
    models = (models / max(models.max(), np.finfo(float).tiny)) ** alpha
    total = models.sum(axis=0)
    masks = np.empty_like(models)
    np.divide(models, total, out=masks, where=total > 0)
    masks[:, total <= 0] = 1.0 / n_sources  # a bin no component explains: share it

    sources = np.stack([transform.istft(M * Z, k1=x.size) for M in masks])
    order = np.argsort(-np.einsum("ij,ij->i", sources, sources), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(n_sources)
    times = transform.t(x.size)
    names = pd.Index([f"component {j}" for j in range(k)], name="component")
    return Separation(
        sources=sources[order], sample_rate=sample_rate, mixture=x, masks=masks[order],
        frequencies=transform.f, times=times, labels=rank[labels],
        templates=pd.DataFrame(W, index=pd.Index(transform.f, name="frequency (Hz)"),
                               columns=names),
        activations=pd.DataFrame(H.T, index=pd.Index(times, name="time (s)"),
                                 columns=names),
        model=model, spectrogram_power=p)


# -------------------------------------------------------------------------- figures
def plot_separation(separation, *, references=None, n_fft=None, max_db=80.0, title=None):
    """Waveforms and spectrograms of a mixture and its separated sources.

    One row for the mixture and one per source; on the left the waveform, on the right
    the spectrogram in dB (relative to the mixture's loudest bin, down to ``-max_db``).

    Parameters
    ----------
    separation : Separation
        What :func:`separate` returned.
    references : array-like of shape (n_sources, n_samples), optional
        The true sources, when known: drawn in grey behind each estimate (in the order
        given, so pass them matched to ``separation.sources``).
    n_fft : int, optional
        Frame length of the spectrograms drawn; default the one of the separation.
    max_db : float, default=80
        Dynamic range of the spectrograms.
    title : str, optional
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from nmfkit.audio import make_tone_and_noise, separate, plot_separation
    >>> mixture, truth = make_tone_and_noise(sample_rate=8000, random_state=0)
    >>> fig = plot_separation(separate(mixture, 8000, 2, n_fft=512, random_state=0))
    >>> len(fig.axes)  # waveform and spectrogram of the mixture and each source, colour bar
    7
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not isinstance(separation, Separation):
        raise TypeError("plot_separation: pass what nmfkit.audio.separate returned; got "
                        f"a {type(separation).__name__}.")
    n_sources, n_samples = separation.sources.shape
    if references is not None:
        references = np.asarray(references, dtype=np.float64)
        if references.ndim == 1:
            references = references[None]
        if references.shape[1] != n_samples or references.shape[0] > n_sources:
            raise ValueError(f"plot_separation: references have shape {references.shape}; "
                             f"expected up to {n_sources} signals of {n_samples} samples "
                             "(one row per source).")
    if n_fft is None:
        n_fft = 2 * (separation.frequencies.size - 1)
    sr = separation.sample_rate
    signals = [separation.mixture, *separation.sources]
    names = ["mixture", *(f"source {s}" for s in range(n_sources))]
    spectra = [spectrogram(s, sr, n_fft=n_fft, scale="magnitude") for s in signals]
    top = max(float(spectra[0].to_numpy().max()), np.finfo(float).tiny)
    t = np.arange(n_samples) / sr
    limit = 1.05 * max(float(np.abs(s).max()) for s in signals) or 1.0

    rows = len(signals)
    fig = Figure(figsize=(10, 1.9 * rows + 0.4), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 2, squeeze=False, sharex="col",
                        gridspec_kw={"width_ratios": (1, 1.25)})
    image = None
    for i, (name, s, S) in enumerate(zip(names, signals, spectra)):
        wave, spec = axes[i]
        if references is not None and 0 < i <= references.shape[0]:
            wave.plot(t, references[i - 1], color="0.7", lw=0.8, label="true")
        wave.plot(t, s, color="C0" if i == 0 else f"C{i}", lw=0.6, label="estimate")
        wave.set_ylim(-limit, limit)
        wave.set_ylabel(name)
        if references is not None and i == 1:
            wave.legend(loc="upper right", fontsize="small")
        db = 20 * np.log10(np.maximum(S.to_numpy() / top, 10 ** (-max_db / 20)))
        times, freqs = S.columns.to_numpy(), S.index.to_numpy()
        image = spec.pcolormesh(times, freqs, db, shading="nearest", vmin=-max_db, vmax=0,
                                cmap="magma", rasterized=True)
        spec.set_ylabel("Hz")
    axes[-1, 0].set_xlabel("time (s)")
    axes[-1, 1].set_xlabel("time (s)")
    axes[-1, 0].set_xlim(0, t[-1])
    fig.colorbar(image, ax=axes[:, 1], label="dB", shrink=0.8)
    if title:
        fig.suptitle(title)
    return fig


# ------------------------------------------------------------------------ unmixing
@dataclass(frozen=True, eq=False)
class Unmixing:
    """The sources and mixing weights :func:`unmix` found, X ≈ sources @ mixing.T.

    Attributes
    ----------
    sources : ndarray or DataFrame of shape (n_samples, n_sources)
        The non-negative source signals (W), indexed like X's rows when X is a DataFrame.
    mixing : ndarray or DataFrame of shape (n_measurements, n_sources)
        How much of each source each measurement sees (Hᵀ), each column scaled to mean
        1, so that a source is in the measurements' units: what an average measurement
        receives of it. Indexed by X's columns when X is a DataFrame.
    model : nmfkit.NMF
        The fitted factorization.
    """

    sources: object
    mixing: object
    model: object = field(repr=False)

    def __iter__(self):
        return iter((self.sources, self.mixing))


def unmix(X, n_sources, *, beta_loss="frobenius", max_iter=1000, tol=1e-4,
          random_state=None, **nmf_params):
    """Recover non-negative sources from non-negative mixtures: X ≈ S Aᵀ.

    Each column of X is one measurement (a sensor, a channel, a wavelength) recording a
    different non-negative mixture of the same few non-negative sources over the rows
    (time).  NMF of X finds the sources S (n_samples x n_sources) and the mixing
    weights A (n_measurements x n_sources) up to order and scale; the scale is fixed by
    giving each column of A mean 1.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_measurements)
        Non-negative; rows are time points, columns measurements.
    n_sources : int
        How many sources.
    beta_loss : str or float, default='frobenius'
        As :class:`nmfkit.NMF`.
    max_iter, tol, random_state
        As :class:`nmfkit.NMF` (tighter defaults: a mixture of few sources is a small,
        exactly low-rank problem that pays to fit to convergence).
    **nmf_params
        Any other :class:`nmfkit.NMF` parameter.

    Returns
    -------
    Unmixing
        ``.sources``, ``.mixing``, ``.model``; unpacks as ``S, A = unmix(X, 3)``.

    Raises
    ------
    ValueError
        As :class:`nmfkit.NMF` for X (negative, NaN, ...), and for ``n_sources < 1``.

    Notes
    -----
    PCA of the same X finds orthogonal, signed directions of largest variance; mixtures
    of the sources, not the sources (see :func:`make_mixed_signals`).

    Examples
    --------
    >>> from nmfkit.audio import make_mixed_signals, unmix
    >>> from nmfkit.metrics import factor_similarity
    >>> X, S, A = make_mixed_signals(random_state=0)
    >>> found = unmix(X, 3, random_state=0)
    >>> found.sources.shape, found.mixing.shape
    ((2000, 3), (100, 3))
    >>> bool(factor_similarity(S.T, found.sources.T) > 0.9)  # mean matched correlation
    True
    """
    n_sources = _check_int(n_sources, "n_sources", "unmix", low=1)
    model = NMF(n_components=n_sources, beta_loss=beta_loss, max_iter=max_iter, tol=tol,
                random_state=random_state, **nmf_params)
    W = model.fit_transform(X)
    H = model.components_
    scale = H.mean(axis=1)
    scale[scale == 0] = 1.0
    sources, mixing = W * scale, (H / scale[:, None]).T
    if isinstance(X, pd.DataFrame):
        names = pd.Index([f"source {s}" for s in range(n_sources)], name="source")
        sources = pd.DataFrame(sources, index=X.index, columns=names)
        mixing = pd.DataFrame(mixing, index=X.columns, columns=names)
    return Unmixing(sources=sources, mixing=mixing, model=model)


# ------------------------------------------------------------------ test problems
def make_mixed_signals(n_samples=2000, n_measurements=100, *, noise=0.2, random_state=None):
    """Three non-negative source signals seen through many non-negative mixtures.

    The field's illustration of NMF against PCA: a sine, a square wave and a sawtooth,
    each with Gaussian noise (``noise`` times its amplitude), standardised and shifted
    so that all are non-negative; each of ``n_measurements`` measurements records a
    mixture with weights drawn uniformly from [0, 1).

    Parameters
    ----------
    n_samples : int, default=2000
        Time points.
    n_measurements : int, default=100
        Measurements (mixtures).
    noise : float, default=0.2
        Standard deviation of the noise added to each source before standardising.
    random_state : int, Generator or None
        Seed of the noise and the weights.

    Returns
    -------
    X : ndarray of shape (n_samples, n_measurements)
        The measurements, ``S @ A.T``.
    S : ndarray of shape (n_samples, 3)
        The sources.
    A : ndarray of shape (n_measurements, 3)
        The mixing weights.

    Examples
    --------
    >>> from nmfkit.audio import make_mixed_signals
    >>> X, S, A = make_mixed_signals(random_state=0)
    >>> X.shape, S.shape, A.shape, bool(S.min() >= 0)
    ((2000, 100), (2000, 3), (100, 3), True)
    """
    from scipy.signal import sawtooth, square

    n_samples = _check_int(n_samples, "n_samples", "make_mixed_signals", low=2)
    n_measurements = _check_int(n_measurements, "n_measurements", "make_mixed_signals",
                                low=1)
    rng = np.random.default_rng(random_state)
    t = np.linspace(0.0, 8.0, n_samples)
    S = np.column_stack([np.sin(2.0 * t), square(3.0 * t), sawtooth(2.0 * np.pi * t)])
    S = S + noise * rng.standard_normal(S.shape)
    S = (S - S.mean(axis=0)) / S.std(axis=0)
    S -= S.min()
    A = rng.uniform(size=(n_measurements, 3))
    return S @ A.T, S, A


def make_tone_and_noise(duration=2.0, sample_rate=16000, *, frequency=440.0,
                        tone=(0.0, 1.4), bursts=((0.3, 0.7), (1.6, 1.9)), noise_level=0.5,
                        random_state=None):
    """A harmonic tone mixed with bursts of white noise: (mixture, sources).

    The tone has the fundamental ``frequency`` and two harmonics (amplitudes 1, 1/2,
    1/4) and sounds from ``tone[0]`` to ``tone[1]`` seconds; the noise sounds in the
    ``bursts``; each is faded in and out over 20 ms.  The defaults give moments of the
    tone alone, of the noise alone and of both: without moments of each source alone
    NMF cannot tell them apart (a tone that never stops fits as well with the templates
    "tone" and "tone + noise" as with "tone" and "noise").

    Parameters
    ----------
    duration : float, default=2.0
        Seconds.
    sample_rate : float, default=16000
        Hz.
    frequency : float, default=440.0
        The tone's fundamental (Hz).
    tone : (float, float), default=(0.0, 1.4)
        When the tone sounds (start, end in seconds).
    bursts : sequence of (float, float), default=((0.3, 0.7), (1.6, 1.9))
        When the noise sounds (s).
    noise_level : float, default=0.5
        Standard deviation of the noise inside a burst (the tone's is about 0.81).
    random_state : int, Generator or None
        Seed of the noise.

    Returns
    -------
    mixture : ndarray of shape (n_samples,)
        ``sources.sum(axis=0)``, n_samples = round(duration x sample_rate).
    sources : ndarray of shape (2, n_samples)
        The tone (row 0) and the noise (row 1).

    Examples
    --------
    >>> from nmfkit.audio import make_tone_and_noise
    >>> mixture, (tone, noise) = make_tone_and_noise(random_state=0)
    >>> mixture.shape, bool(noise[:4000].any()), bool(noise[6000:10000].any())
    ((32000,), False, True)
    """
    who = "make_tone_and_noise"
    duration = _check_positive(duration, "duration", who)
    sample_rate = _check_positive(sample_rate, "sample_rate", who)
    n = int(round(duration * sample_rate))
    if n < 1:
        raise ValueError(f"{who}: duration x sample_rate is {duration * sample_rate:g}: "
                         "less than one sample.")
    rng = np.random.default_rng(random_state)
    t = np.arange(n) / sample_rate

    def envelope(intervals, fade=0.02):
        out = np.zeros(n)
        for start, end in intervals:
            rise = np.clip((t - start) / fade, 0.0, 1.0)
            fall = np.clip((end - t) / fade, 0.0, 1.0)
            out = np.maximum(out, np.sin(0.5 * np.pi * np.minimum(rise, fall)) ** 2)
        return out

    harmonic = sum(a * np.sin(2 * np.pi * h * frequency * t)
                   for h, a in ((1, 1.0), (2, 0.5), (3, 0.25)))
    sources = np.stack([envelope([tone]) * harmonic,
                        noise_level * envelope(bursts) * rng.standard_normal(n)])
    return sources.sum(axis=0), sources
