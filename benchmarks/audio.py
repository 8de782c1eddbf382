"""Audio sources: nmfkit.audio.separate beside librosa.decompose.decompose, and mixed signals.

    python benchmarks/audio.py                       # 5 seeds, ~8 min on 2 cores
    python benchmarks/audio.py --seeds 2             # quicker
    python benchmarks/audio.py --report benchmarks/results/audio.json   # table again

Part 1, separation of one-channel mixtures into two sources (n_sources = n_components = 2):

  tone-noise    ``nmfkit.audio.make_tone_and_noise(random_state=0)``: 2 s at 16 kHz, a
                440 Hz tone with two harmonics (0-1.4 s) and two bursts of white noise
                (0.3-0.7 s, 1.6-1.9 s); STFT frames of 2,048 samples, hop 512.
  speech-music  two real recordings that ship inside packages of the registry: a spoken
                sentence of the CMU ARCTIC corpus (``arctic_a0007.wav``, 16 kHz, in
                pysptk 1.0.1's ``example_audio_data``) and a house-music loop
                (``house_lo.wav``, 11,025 Hz 8-bit, in pygame 2.6.1's ``examples/data``).
                The speech is resampled to 11,025 Hz (``scipy.signal.resample_poly``,
                441/640), both are cut to the first 4 s, and the music is scaled to the
                speech's RMS (a 0 dB mixture); frames of 1,024 samples, hop 256. Both
                files are located with ``importlib.util.find_spec`` (neither package is
                imported); the mixture is skipped, with the pip command, when one is
                missing.

Every contender uses the same STFT (``scipy.signal.ShortTimeFFT``, Hann window), the same
spectrogram scaled to its maximum (for Itakura-Saito the power spectrogram floored at
-80 dB, as ``separate`` does), the same soft masks M_s = w_s h_s / Σ_r w_r h_r applied to
the complex STFT, and the same inverse STFT: only the factorization differs.

  nmfkit-kl     ``nmfkit.audio.separate(x, sr, 2, beta_loss='kullback-leibler',
                random_state=seed)``: its defaults, 4 starts (n_init=4), max_iter=500
  nmfkit-kl-1   the same with ``n_init=1``: one fit, the work of one scikit-learn fit
  nmfkit-is     ``separate(..., beta_loss='itakura-saito')`` (power spectrogram)
  nmfkit-is-1   the same with ``n_init=1``
  librosa       ``librosa.decompose.decompose(V, n_components=2, random_state=seed)`` on
                the magnitude: its default transformer, scikit-learn's ``NMF`` with
                its defaults (Frobenius loss, 'cd', 200 iterations)
  librosa-kl    ``decompose(V, transformer=sklearn NMF(2, beta_loss='kullback-leibler',
                solver='mu', init='nndsvda', max_iter=500, random_state=seed))``
  librosa-is    the same with ``beta_loss='itakura-saito'`` on the power spectrogram

Quality: ``mir_eval.separation.bss_eval_sources`` (BSS Eval v3: SDR, SIR, SAR in dB, under
the best pairing of estimates with the true sources), computed outside the clock; the
mixture itself taken as the estimate of both sources is the baseline row. Time: the
whole separation, STFT to the sources (``separate``'s call for nmfkit).

Part 2, the mixed-signals example: ``nmfkit.audio.make_mixed_signals(random_state=seed)``
(a sine, a square wave and a sawtooth, noisy and shifted non-negative, seen through 100
non-negative mixtures of 2,000 samples), three components by

  nmfkit        ``nmfkit.audio.unmix(X, 3, random_state=0)``
  pca           ``sklearn.decomposition.PCA(3).fit_transform(X)``
  fastica       ``sklearn.decomposition.FastICA(3, random_state=0).fit_transform(X)``
                (the field's tool for this example; not non-negative)

scored by the mean matched correlation with the true sources (``nmfkit.metrics.
match_components``: Pearson correlations, Hungarian pairing), as returned and with each
component's sign free (|correlation|; PCA's and ICA's signs are arbitrary).

Protocol: every (seed, contender) runs in a fresh process with one thread (OMP, OpenBLAS,
MKL, numba environment variables, and threadpoolctl), after one untimed warm-up call of
the same contender on a short input; the contenders' order is rotated from seed to seed.
Reported: medians over the seeds, [min-max] where the seeds differ. The machine's CPU busy
share before each run is recorded. Results: ``benchmarks/results/audio.json``; the
Markdown table is printed.

Needs ``mir_eval==0.8.2 librosa==0.11.0`` and, for the real recordings,
``pysptk==1.0.1 pygame==2.6.1`` (pysptk builds from source: a C compiler, ~2 minutes).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

from bench import background_cpu, thread_env
from bench import machine_info as _machine_info

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "audio.json"
PACKAGES = ("nmfkit", "numpy", "scipy", "scikit-learn", "librosa", "mir_eval", "pysptk",
            "pygame")

SEPARATORS = ("nmfkit-kl", "nmfkit-kl-1", "nmfkit-is", "nmfkit-is-1", "librosa",
              "librosa-kl", "librosa-is")
UNMIXERS = ("nmfkit", "pca", "fastica")
MIXTURES = ("tone-noise", "speech-music")
#: STFT frame length per mixture (hop: a quarter of it).
N_FFT = {"tone-noise": 2048, "speech-music": 1024}
#: separate's floor of the power spectrogram for Itakura-Saito (dB below its maximum).
FLOOR_DB = 80.0

RECORDINGS = {  # package -> file inside it, the pip command that brings it
    "pysptk": ("example_audio_data/arctic_a0007.wav", "pip install pysptk==1.0.1"),
    "pygame": ("examples/data/house_lo.wav", "pip install --no-deps pygame==2.6.1"),
}


# ---------------------------------------------------------------------------- mixtures
def recording(package):
    """The path of a recording inside an installed package, found without importing it."""
    relative, command = RECORDINGS[package]
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"{package} is not installed: {command}")
    path = Path(spec.origin).parent / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from {package}: {command}")
    return path


def mixture(name, *, seconds=None):
    """(mixture, true sources (2, n), sample rate) of one of MIXTURES."""
    import numpy as np

    if name == "tone-noise":
        from nmfkit.audio import make_tone_and_noise

        sr = 16000
        x, truth = make_tone_and_noise(duration=seconds or 2.0, sample_rate=sr,
                                       random_state=0)
        return x, truth, sr
    from scipy.io import wavfile
    from scipy.signal import resample_poly

    sr_speech, speech = wavfile.read(recording("pysptk"))
    sr, music = wavfile.read(recording("pygame"))
    assert (sr_speech, speech.dtype, sr, music.dtype) == (16000, np.int16, 11025, np.uint8)
    speech = resample_poly(speech / 32768.0, 441, 640)
    music = (music.astype(np.float64) - 128.0) / 128.0
    n = int(round((seconds or 4.0) * sr))
    speech, music = speech[:n], music[:n]
    music = music * np.sqrt(np.mean(speech ** 2) / np.mean(music ** 2))
    truth = np.stack([speech, music])
    return truth.sum(axis=0), truth, sr


def available_mixtures():
    """The mixtures that can be built here, and why the others cannot."""
    ok, skipped = [], {}
    for name in MIXTURES:
        try:
            if name == "speech-music":
                for package in RECORDINGS:
                    recording(package)
            ok.append(name)
        except FileNotFoundError as error:
            skipped[name] = str(error)
    return ok, skipped


# --------------------------------------------------------------------------- contenders
def stft(n_fft, sr):
    from scipy.signal import ShortTimeFFT, get_window

    return ShortTimeFFT(get_window("hann", n_fft), n_fft // 4, sr)


def masked_sources(transform, Z, W, H, n_samples):
    """Soft masks of the two-component model (one component per source), inverted."""
    import numpy as np

    models = np.stack([np.outer(W[:, j], H[j]) for j in range(W.shape[1])])
    total = models.sum(axis=0)
    masks = np.full_like(models, 1.0 / len(models))
    np.divide(models, total, out=masks, where=total > 0)
    return np.stack([transform.istft(M * Z, k1=n_samples) for M in masks])


def nmfkit_arguments(contender):
    """separate's keywords for an nmfkit contender: its loss, and n_init for '-1'."""
    beta = "itakura-saito" if "-is" in contender else "kullback-leibler"
    return {"beta_loss": beta, **({"n_init": 1} if contender.endswith("-1") else {})}


def separate_with(contender, x, sr, n_fft, seed):
    """The two sources one contender finds in x (the timed part)."""
    import numpy as np

    if contender.startswith("nmfkit"):
        from nmfkit.audio import separate

        return separate(x, sr, 2, n_fft=n_fft, random_state=seed,
                        **nmfkit_arguments(contender)).sources
    import librosa.decompose
    from sklearn.decomposition import NMF

    transform = stft(n_fft, sr)
    Z = transform.stft(x)
    p = 2 if contender == "librosa-is" else 1
    V = np.abs(Z) ** p
    V /= V.max()
    if contender == "librosa-is":
        V = np.maximum(V, 10.0 ** (-FLOOR_DB / 10.0))
    if contender == "librosa":
        W, H = librosa.decompose.decompose(V, n_components=2, random_state=seed)
    else:
        beta = "itakura-saito" if contender == "librosa-is" else "kullback-leibler"
        model = NMF(2, beta_loss=beta, solver="mu", init="nndsvda", max_iter=500,
                    random_state=seed)
        W, H = librosa.decompose.decompose(V, transformer=model)
    return masked_sources(transform, Z, W, H, x.size)


def unmix_with(contender, X):
    if contender == "nmfkit":
        from nmfkit.audio import unmix

        return unmix(X, 3, random_state=0).sources
    from sklearn.decomposition import PCA, FastICA

    if contender == "pca":
        return PCA(3).fit_transform(X)
    return FastICA(3, random_state=0).fit_transform(X)


def bss_eval(truth, estimates):
    import mir_eval
    import numpy as np

    with warnings.catch_warnings():
        # mir_eval 0.8 marks BSS Eval v3 deprecated (museval holds v4); v3 is the one
        # the literature's tables report, and the one asked for here.
        warnings.simplefilter("ignore", DeprecationWarning)
        sdr, sir, sar, perm = mir_eval.separation.bss_eval_sources(truth, estimates)
    return {"sdr": sdr.tolist(), "sir": sir.tolist(), "sar": sar.tolist(),
            "perm": np.asarray(perm).tolist()}


def matched_correlations(S, estimate):
    """Mean matched correlation as returned, and with each component's sign free."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    from nmfkit.metrics import match_components

    _, signed = match_components(S.T, estimate.T)
    C = np.corrcoef(S.T, estimate.T)[:3, 3:]
    rows, cols = linear_sum_assignment(-np.abs(C))
    return float(signed.mean()), float(np.abs(C[rows, cols]).mean())


# ------------------------------------------------------------------------------ worker
def worker(job):
    """(subprocess) Warm up, time one contender on one problem, score it, print JSON."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    import numpy as np

    out = dict(job)
    if job["part"] == "separation":
        name, contender, seed = job["mixture"], job["contender"], job["seed"]
        n_fft = N_FFT[name]
        short, _, sr = mixture(name, seconds=0.5)
        separate_with(contender, short, sr, n_fft, seed)  # imports, compiled kernels
        x, truth, sr = mixture(name)
        start = time.perf_counter()
        sources = separate_with(contender, x, sr, n_fft, seed)
        out["seconds"] = time.perf_counter() - start
        assert sources.shape == truth.shape
        out["sum_error"] = float(np.abs(sources.sum(axis=0) - x).max())
        if contender.startswith("nmfkit"):
            # the benchmark's masks and inverse STFT are separate's: rebuilt from its
            # fitted W and H they give its sources (so only the factorizations differ)
            from nmfkit.audio import separate

            found = separate(x, sr, 2, n_fft=n_fft, random_state=seed,
                             **nmfkit_arguments(contender))
            transform = stft(n_fft, sr)
            rebuilt = masked_sources(transform, transform.stft(x),
                                     found.templates.to_numpy(),
                                     found.activations.to_numpy().T, x.size)
            rebuilt = rebuilt[np.argsort(-(rebuilt ** 2).sum(axis=1), kind="stable")]
            out["pipeline_difference"] = float(np.abs(rebuilt - found.sources).max())
            out["n_iter"] = int(found.model.n_iter_)
        if not np.all(np.any(sources != 0, axis=1)):
            out["error"] = "a source is all zeros (BSS Eval needs non-silent estimates)"
        else:
            out.update(bss_eval(truth, sources))
    else:
        from nmfkit.audio import make_mixed_signals

        contender = job["contender"]
        small, _, _ = make_mixed_signals(n_samples=200, n_measurements=10, random_state=99)
        unmix_with(contender, small)
        X, S, _ = make_mixed_signals(random_state=job["seed"])
        start = time.perf_counter()
        estimate = np.asarray(unmix_with(contender, X))
        out["seconds"] = time.perf_counter() - start
        out["correlation"], out["correlation_any_sign"] = matched_correlations(S, estimate)
        out["negative_share"] = float(np.mean(estimate < 0))
    print(json.dumps(out))


# ------------------------------------------------------------------------------ parent
def run_job(job, env):
    busy, steal = background_cpu()
    done = subprocess.run([sys.executable, __file__, "_worker", json.dumps(job)], env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return dict(job, error=done.stderr.strip().splitlines()[-1] if done.stderr else
                    f"exit {done.returncode}", cpu_busy=busy)
    row = json.loads(done.stdout.strip().splitlines()[-1])
    row.update(cpu_busy=busy, cpu_steal=steal)
    return row


def baseline_rows(mixtures):
    """BSS Eval of the mixture itself as the estimate of every source."""
    import numpy as np

    rows = []
    for name in mixtures:
        x, truth, _ = mixture(name)
        rows.append(dict(part="separation", mixture=name, contender="mixture", seed=0,
                         **bss_eval(truth, np.stack([x, x]))))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per contender")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--report", type=Path, help="print the table of a results file")
    args = parser.parse_args()
    if args.report:
        print(table(json.loads(args.report.read_text())))
        return
    mixtures, skipped = available_mixtures()
    for name, why in skipped.items():
        print(f"skipping the {name} mixture: {why}", flush=True)
    env = thread_env(1)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    jobs = []
    for seed in range(args.seeds):
        for name in mixtures:
            jobs += [dict(part="separation", mixture=name, contender=c, seed=seed)
                     for c in rotate(SEPARATORS, seed)]
        jobs += [dict(part="mixed-signals", contender=c, seed=seed)
                 for c in rotate(UNMIXERS, seed)]
    rows = baseline_rows(mixtures)
    started = time.perf_counter()
    for i, job in enumerate(jobs):
        rows.append(run_job(job, env))
        shown = {k: v for k, v in rows[-1].items() if k not in ("perm", "part")}
        print(f"[{i + 1}/{len(jobs)}, {time.perf_counter() - started:.0f} s] "
              f"{json.dumps(shown)}", flush=True)
    result = {"machine": _machine_info(1, PACKAGES), "seeds": args.seeds,
              "skipped": skipped, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"\nwrote {args.out}\n")
    print(table(result))


def rotate(items, shift):
    shift %= len(items)
    return list(items[shift:]) + list(items[:shift])


# ------------------------------------------------------------------------------- table
def _spread(values, fmt):
    """Median, with [min-max] when the values differ."""
    middle = statistics.median(values)
    if max(values) - min(values) < 0.5 * 10.0 ** -int(fmt[-2]):
        return format(middle, fmt)
    return f"{middle:{fmt}} [{min(values):{fmt}}–{max(values):{fmt}}]"


def table(result):
    rows = result["rows"]
    lines = []
    machine = result["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items() if v)
    lines += [f"Medians over {result['seeds']} seeds, [min–max] where the seeds differ; one "
              f"thread per process; {machine['cpu']}, {machine['date']}; {versions}.", ""]
    lines += ["| mixture | contender | SDR (dB) | SDR per source (dB) | SIR (dB) | SAR (dB) "
              "| time (s) |", "|---|---|---|---|---|---|---|"]
    for name in MIXTURES:
        if name in result["skipped"]:
            lines.append(f"| {name} | skipped: {result['skipped'][name]} | | | | | |")
            continue
        for contender in ("mixture", *SEPARATORS):
            mine = [r for r in rows if r.get("part") == "separation"
                    and r.get("mixture") == name and r["contender"] == contender]
            good = [r for r in mine if "sdr" in r]
            if not mine:
                continue
            if not good:
                lines.append(f"| {name} | {contender} | failed: {mine[0].get('error')} "
                             "| | | | |")
                continue
            mean = {m: [statistics.fmean(r[m]) for r in good] for m in ("sdr", "sir", "sar")}
            per_source = " / ".join(_spread([r["sdr"][s] for r in good], ".1f")
                                    for s in range(len(good[0]["sdr"])))
            seconds = [r["seconds"] for r in good if "seconds" in r]
            failed = len(mine) - len(good)
            lines.append(
                f"| {name} | {contender} | {_spread(mean['sdr'], '.1f')} | {per_source} | "
                f"{_spread(mean['sir'], '.1f')} | {_spread(mean['sar'], '.1f')} | "
                + (f"{statistics.median(seconds):.2f}" if seconds else "—")
                + (f" ({failed} seed(s) failed)" if failed else "") + " |")
    lines += ["", "SDR, SIR, SAR: the mean over the two sources (tone / noise, speech / "
              "music per source), by mir_eval's bss_eval_sources.", ""]
    lines += ["| mixed signals | mean matched correlation | with the signs free | "
              "negative entries | time (s) |", "|---|---|---|---|---|"]
    for contender in UNMIXERS:
        good = [r for r in rows if r.get("part") == "mixed-signals"
                and r["contender"] == contender and "correlation" in r]
        if good:
            lines.append(
                f"| {contender} | {_spread([r['correlation'] for r in good], '.3f')} | "
                f"{_spread([r['correlation_any_sign'] for r in good], '.3f')} | "
                f"{100 * statistics.median(r['negative_share'] for r in good):.0f} % | "
                f"{statistics.median(r['seconds'] for r in good):.3f} |")
    busy = [r["cpu_busy"] for r in rows if "cpu_busy" in r]
    if busy:
        lines += ["", f"Machine CPU busy before the runs: median {statistics.median(busy):.0f} "
                  f"% (max {max(busy):.0f} %)."]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "_worker":
        worker(json.loads(sys.argv[2]))
    else:
        main()
