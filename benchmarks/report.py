"""Render the results JSON of bench.py as RESULTS.md (``python report.py results.json``)."""

from __future__ import annotations

import json
import math
import re
import statistics
import sys
from pathlib import Path

PEERS_FROB = ("sklearn-cd",)
KL_REFERENCES = ("sklearn-mu", "torchnmf")


def _seed_pairs(d):
    """(sklearn run, nmfkit run) pairs of the drop-in runs that share a random_state."""
    def by_seed(runs):
        out = {}
        for t in runs:
            if t.get("status") == "ok" and t.get("runs"):
                seed = t["runs"][0].get("params", {}).get("random_state")
                if seed not in (None, "None"):
                    out[seed] = t["runs"][0]
        return out
    sk, nk = by_seed(d.get("sklearn", [])), by_seed(d.get("nmfkit", []))
    return [(sk[s_], nk[s_]) for s_ in sorted(sk.keys() & nk.keys(), key=int)]


def _med(xs):
    xs = [x for x in xs if x is not None and x == x]
    return statistics.median(xs) if xs else None


def _fmt_s(x):
    if x is None:
        return "—"
    if x < 0.01:
        return f"{x:.2g}"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def _mib(b):
    return "—" if not b else f"{b / 2**20:.0f}"


def times_to(ce, which):
    """Wall times of the timed runs at n_<which> that reached the target."""
    n = ce.get("n_1" if which == "1%" else "n_01")
    if not n:
        return []
    return [run["seconds"] for t in ce.get("timed", []) for run in t.get("runs", [])
            if run["max_iter"] == n and run.get(f"reached_{which}")]


def time_to(ce, which):
    """Median wall time of the timed runs at n_<which> that reached the target."""
    return _med(times_to(ce, which))


def missed(ce, which):
    """Timed runs at n_<which> that did not reach the target (the trace said they would)."""
    n = ce.get("n_1" if which == "1%" else "n_01")
    return [run for t in ce.get("timed", []) for run in t.get("runs", [])
            if n and run["max_iter"] == n and not run.get(f"reached_{which}")]


def sec_per_iter(ce):
    runs = [run for t in ce.get("timed", []) for run in t.get("runs", [])]
    if not runs:
        return None
    longest = max(r["max_iter"] for r in runs)
    return _med([r["seconds"] / max(r["n_iter"], 1) for r in runs if r["max_iter"] == longest])


def peak_rss(ce):
    return _med([t.get("process_maxrss") for t in ce.get("timed", [])])


def lower_bound_time(ce):
    """A contender that never reached the target within its trace's iterations: those
    iterations take at least (plain-run seconds per iteration) x (trace iterations)."""
    spi = sec_per_iter(ce)
    if spi and ce.get("trace_iters"):
        return spi * ce["trace_iters"]
    return ce.get("trace_s")


#: Trace-clock seconds per plain-fit second assumed for a chained trace whose peer's
#: factor was not measured (bench.py measures it before a verdict trace).
CHAIN_OVERHEAD = 3.0


def stopped_by_itself(ce, budget):
    """True when a trace ended before its iteration and time caps: the library's own
    stopping test ended the fit although tol=0 (so more time would not reach the target)."""
    if not ce.get("trace_iters"):
        return False
    ext = ce["trace"].get("extended_to_s")
    chain = ce["trace"].get("trace_mode") == "chain"
    factor = ce["trace"].get("clock_factor") or (CHAIN_OVERHEAD if chain else 1.0)
    cap = ext * factor if ext else budget["trace_s"] * (2 if chain else 1)
    max_it = 10**7 if ext else budget["trace_iter"]
    return ce["trace_iters"] < max_it and ce["trace_s"] < 0.9 * cap


def speedups(pe):
    """{contender: (ratio, exact)} of contender's time to 0.1 % over nmfkit's."""
    cs = pe["contenders"]
    base = time_to(cs.get("nmfkit", {}), "0.1%")
    out = {}
    if base is None:
        return out
    for name, ce in cs.items():
        if name == "nmfkit" or ce.get("status") != "ok" or ce.get("final_obj") is None:
            continue
        t = time_to(ce, "0.1%")
        if t is not None:
            out[name] = (t / base, True)
        elif not ce.get("n_01") and stopped_by_itself(ce, pe["budget"]):
            out[name] = (math.inf, False)  # ended its own fit short of the target
        elif not ce.get("n_01") and lower_bound_time(ce):
            out[name] = (lower_bound_time(ce) / base, False)
    return out


def _ratio_text(r, exact):
    if math.isinf(r):
        return "never (stopped by itself short of the target)"
    return f"{'' if exact else '> '}{r:.1f}x"


def readme_paragraph(res):
    """The paragraph proposed for the project README, from this run's figures."""
    m = res["meta"]
    parts = []
    for key, pe in res["problems"].items():
        cs = pe.get("contenders", {})
        t = time_to(cs.get("nmfkit", {}), "0.1%")
        if t is None:
            continue
        sp = speedups(pe)
        # the fastest peer is the fastest that reached the target; peers that did not
        # reach it within their budget are left out of the sentence
        peers = sorted(((r, ex, n) for n, (r, ex) in sp.items()
                        if ex and not n.startswith("nmfkit")), key=lambda x: x[0])
        if not peers:
            continue
        r, exact, name = peers[0]
        ref = sp.get("sklearn-cd") or sp.get("sklearn-mu")
        ref_name = "sklearn-cd" if "sklearn-cd" in sp else "sklearn-mu"
        txt = (f"({key}) nmfkit {_fmt_s(t)} s; fastest peer {name} {r:.1f}x that time")
        if ref and ref_name != name:
            txt += f", {ref_name} {'' if ref[1] else '> '}{ref[0]:.1f}x"
        parts.append(txt)
    if not parts:
        return "## For the README\n\n(no problem where nmfkit reached the target)\n"
    return ("## For the README\n\n> Speed (time to reach an objective within 0.1 % of the best "
            "any library reached, same start, median of alternating runs in separate "
            f"processes; `make bench` on {m['date'][:10]}, {m['cpu']}, {m['cores']} cores, "
            f"shared machine, load average {m.get('loadavg_before', [0])[0]:.1f}): "
            + "; ".join(parts) + ". Problems, peers and every figure: "
            "[benchmarks/RESULTS.md](benchmarks/RESULTS.md).\n")


def floor_of(pe):
    """The floor: the lowest of the floor measurements of this problem (start, end,
    recheck), each the median of its repeats; min of repeats where that is all we have."""
    vals = []
    for key in ("floor", "floor_end", "floor_recheck"):
        f = pe.get(key) or {}
        if f.get("status", "ok") == "ok" and f.get("floor_s"):
            vals.append(f["floor_s"])
    return min(vals) if vals else None


#: Marks where the hand-written part of RESULTS.md starts: write_markdown keeps it.
HAND_KEPT = ("<!-- Everything below this line is written by hand; report.py keeps it when it "
             "rewrites this file. -->")


def write_markdown(path, rendered):
    """Write ``rendered`` to ``path``, carrying over the hand-written sections that follow
    :data:`HAND_KEPT` in the file already there."""
    path = Path(path)
    kept = ""
    if path.exists():
        old = path.read_text()
        if HAND_KEPT in old:
            kept = old[old.index(HAND_KEPT):]
    path.write_text(rendered + ("\n" + kept if kept else ""))


BASELINE = re.compile(r"nmfkit@[0-9a-f]{4,40}")


def _round_values(ce, which):
    """Per timed round: the time to the target of that round's run (None if it missed)."""
    n = ce.get("n_1" if which == "1%" else "n_01")
    out = []
    for t in ce.get("timed", []):
        hit = [run["seconds"] for run in t.get("runs", [])
               if n and run["max_iter"] == n and run.get(f"reached_{which}")]
        out.append(hit[0] if hit else None)
    return out


def _periter_values(ph):
    return [run["seconds"] / max(run["n_iter"], 1) for t in (ph or {}).get("runs", [])
            for run in t.get("runs", [])]


def _defaults_values(runs, key="seconds"):
    return [t["runs"][0][key] if t.get("status") == "ok" and t.get("runs") else None
            for t in runs or []]


def _verdict(new, old, worse="slower", better="faster"):
    """Against the run-to-run spread (lower is better): **worse** when every run of this
    checkout is above every baseline run (the two ranges do not overlap); *possibly
    worse* when only its median is above the baseline's highest run."""
    new = [v for v in new if v is not None]
    old = [v for v in old if v is not None]
    if not new and old:
        return f"**{worse}**: not reached (the baseline was)"
    if new and not old:
        return f"{better}: the baseline did not reach it"
    if not new:
        return "—"
    if len(new) < 2 or len(old) < 2:
        return "one run each: no noise estimate"
    if min(new) > max(old):
        return f"**{worse}** (ranges apart)"
    if max(new) < min(old):
        return f"{better} (ranges apart)"
    m = statistics.median(new)
    if m > max(old):
        return f"possibly {worse} (median above the baseline's range)"
    return f"possibly {better} (median below the baseline's range)" if m < min(old) \
        else "within noise"


def before_after(res):
    """The --baseline table: this checkout's nmfkit against nmfkit@<sha>, problem by
    problem, with the per-round ratios (the two ran next to each other in every round)."""
    L = []
    slower = []
    for key, pe in res["problems"].items():
        cs = pe.get("contenders", {})
        for bname in [n for n in cs if BASELINE.fullmatch(n)]:
            cur, old = cs.get("nmfkit", {}), cs[bname]
            if not L:
                L += ["## Before / after: this checkout against the baseline\n",
                      f"nmfkit of this checkout against `{bname}` (the same protocol, run "
                      "next to each other in every round; rotated as all contenders are). "
                      "Cells: median [min–max] over the rounds. *ratio*: this checkout's "
                      "median over the baseline's; *per round*: the two runs of the same "
                      "round, this over the baseline. *Verdict*: **slower** when every "
                      "run of this checkout took longer than every baseline run (the two "
                      "run-to-run ranges apart); *possibly slower* when only its median "
                      "lies above the slowest baseline run; otherwise within noise.\n",
                      f"| problem | measure | nmfkit | {bname} | ratio | per round | verdict |",
                      "|---|---|---|---|---|---|---|"]
            rows = []
            for which, label in (("1%", "time to 1 % (s)"), ("0.1%", "time to 0.1 % (s)")):
                a, b = _round_values(cur, which), _round_values(old, which)
                n_key = "n_1" if which == "1%" else "n_01"
                its = f" ({cur.get(n_key) or '—'} / {old.get(n_key) or '—'} it)"
                rows.append((label + its, a, b, ("slower", "faster")))
            rows.append(("s/iter, timed runs", [sec_per_iter({"timed": [t]}) for t in
                                                 cur.get("timed", [])],
                         [sec_per_iter({"timed": [t]}) for t in old.get("timed", [])],
                         ("slower", "faster")))
            if pe.get("periter_hals_baseline"):
                rows.append((f"hals s/iter, {pe['periter_hals']['n']} iterations",
                             _periter_values(pe.get("periter_hals")),
                             _periter_values(pe["periter_hals_baseline"]),
                             ("slower", "faster")))
            rows.append(("peak RSS (MiB)",
                         [(t.get("process_maxrss") or 0) / 2**20 or None
                          for t in cur.get("timed", [])],
                         [(t.get("process_maxrss") or 0) / 2**20 or None
                          for t in old.get("timed", [])], ("more", "less")))
            d = pe.get("defaults") or {}
            if bname in d:
                rows.append(("drop-in time (s)", _defaults_values(d.get("nmfkit")),
                             _defaults_values(d[bname]), ("slower", "faster")))
                rows.append(("drop-in objective", _defaults_values(d.get("nmfkit"), "obj"),
                             _defaults_values(d[bname], "obj"), None))
            for label, a, b, words in rows:
                ma, mb = _med(a), _med(b)
                pairs = [x / y for x, y in zip(a, b) if x and y]

                def cell(v):
                    v = [x for x in v if x is not None]
                    if not v:
                        return "not reached" if label.startswith("time") else "—"
                    f = (lambda x: f"{x:.6g}") if "objective" in label else _fmt_s
                    return f(_med(v)) + (f" [{f(min(v))}–{f(max(v))}]" if len(v) > 1 else "")

                verdict = "—" if words is None else _verdict(a, b, *words)
                if "objective" in label and ma and mb:
                    verdict = ("higher" if ma > mb * (1 + 1e-6) else
                               "lower" if ma < mb * (1 - 1e-6) else "same (1e-6)")
                if verdict.startswith(("**slower", "possibly slower", "**more")):
                    slower.append(f"({key}) {label}: {verdict.replace('*', '')}")
                ratio = f"{ma / mb:.3f}" if ma and mb else "—"
                per = ", ".join(f"{r:.3f}" for r in pairs) or "—"
                L.append(f"| {key} | {label} | {cell(a)} | {cell(b)} | {ratio} | {per} | "
                         f"{verdict} |")
    if not L:
        return []
    L.append("\n" + ("Worse than the baseline: " + "; ".join(slower) + "." if slower else
                      "No measure worse than the baseline beyond the run-to-run noise.")
             + "\n")
    return L


def render(res, json_name="results/results.json"):
    m = res["meta"]
    L = []
    quick = res.get("quick")
    L.append(f"# nmfkit benchmark results{' (quick mode)' if quick else ''}\n")
    L.append(f"Generated by `make bench` (`benchmarks/bench.py {' '.join(res.get('argv', []))}`)"
             f" on {m['date']}. Raw numbers: `{json_name}`.\n")
    bg = [t.get("background_cpu_pct") for pe in res["problems"].values()
          for ce in pe.get("contenders", {}).values() for t in ce.get("timed", [])]
    la = [t.get("loadavg_start", [None])[0] for pe in res["problems"].values()
          for ce in pe.get("contenders", {}).values() for t in ce.get("timed", [])]
    L.append("| machine | |\n|---|---|")
    L.append(f"| CPU | {m['cpu']} |")
    L.append(f"| cores / threads used | {m['cores']} / {m['threads']} (BLAS, OpenMP, torch; "
             f"OMP_WAIT_POLICY=PASSIVE) |")
    L.append(f"| memory | {m['memory_gib']} GiB |")
    L.append(f"| load average (1 min) at start / end | {m.get('loadavg_before', [0])[0]:.2f} / "
             f"{m.get('loadavg_after', [0])[0]:.2f} |")
    if bg and _med(bg) is not None:
        L.append(f"| machine CPU busy between runs (median / max of 0.5 s samples) | "
                 f"{_med(bg):.0f} % / {max(x for x in bg if x is not None):.0f} % |")
    if la and _med(la) is not None:
        L.append(f"| load average when timed runs started (median / max) | {_med(la):.2f} / "
                 f"{max(x for x in la if x is not None):.2f} |")
    L.append(f"| Python | {m['python']} |")
    L.append("| versions | " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
             + (f" (nmfkit at commit {m['nmfkit_commit']})" if m.get("nmfkit_commit") else "")
             + " |")
    if res.get("baseline"):
        b = res["baseline"]
        subj = b.get("subject", "")
        subj = subj if len(subj) <= 90 else subj[:90].rsplit(" ", 1)[0] + " …"
        L.append(f"| baseline (--baseline {b['ref']}) | `{b['contender']}`: nmfkit at "
                 f"{b['commit']} ({subj}), imported from its own src/ by its own "
                 "processes |")
    L.append(f"| total benchmark time | {m.get('elapsed_s', 0) / 60:.1f} min |\n")
    busy = _med(bg)
    if busy is not None and busy > 25:
        L.append(f"**Shared machine:** other processes kept the CPU {busy:.0f} % busy (median) "
                 "while this run measured. Two-thread BLAS/OpenMP calls then wait for a "
                 "descheduled thread, and one run can take many times another's time; the "
                 "[min–max] spread in the tables shows it. Ratios are more reliable than "
                 "absolute times, and a quiet machine gives cleaner ones.\n")

    L.append("How to read: every contender starts from the same W0, H0 (scikit-learn's 'random' "
             "scale, fixed seed), with tol=0. *best* is the lowest objective any contender "
             "reached in its trace; *time to 1 % / 0.1 %* is the median [min–max] wall time of separate "
             "runs (own process, contenders alternating) stopped at the first iteration whose "
             "objective is within that margin of best, re-evaluated by the harness (float64, "
             "½‖X−WH‖² or KL via stored entries). *× nmfkit* is that time over nmfkit's; "
             "'>' marks a contender that never reached the target within its trace budget "
             "(the bound is its trace's iteration count times its measured seconds per iteration); where such a bound fell short of the target ratio for scikit-learn's reference solver or any other peer, that peer's trace was run again for 1.15 x ratio x nmfkit's time (at most 150 s of plain-fit time, converted to the trace's clock by a short plain fit of that peer: chained and hooked traces run slower per iteration), objective evaluated every iteration up to the base trace's length and every ~1/100 of the count after (so a target iteration is found at most 1 % late). *s/iter ÷ floor* compares one iteration with the "
             "two products X Hᵀ and Wᵀ X on this machine (the lowest of the medians measured at the "
             "start and end of the problem, and by a later `--floor-recheck`). Peak RSS is the whole process "
             "(imports and data included), one process per run.\n")
    intro_end = len(L)

    summary = []
    for key, pe in res["problems"].items():
        p = pe["problem"]
        L.append(f"## ({key}) {p['title']}\n")
        if pe.get("rerun"):
            at = pe["rerun"].get("nmfkit_commit")
            L.append(f"*This problem comes from a separate run on {pe['rerun']['date']} "
                     + (f"with nmfkit at commit {at} " if at else "")
                     + f"(`bench.py {' '.join(pe['rerun']['argv'])}`), merged into this file.*\n")
        shape = "x".join(map(str, pe["shape"]))
        fl = floor_of(pe)
        L.append(f"X: {shape}, {pe['nnz']:,} non-zeros, {pe['dtype']}"
                 f"{', scipy.sparse CSR' if pe['sparse'] else ''}; k={p['k']}; loss {p['loss']}. "
                 f"Floor X Hᵀ + Wᵀ X: {_fmt_s(fl)} s. "
                 + (f"Best objective {pe['best_obj']:.6g}"
                    + (f" (relative error {pe['best_rel_err']:.5f})" if "best_rel_err" in pe
                       else "") + "." if "best_obj" in pe else "")
                 + f" Trace budget {pe['budget']['trace_iter']} iterations / "
                 f"{pe['budget']['trace_s']:.0f} s; {pe['budget']['repeats']} round(s) of timed runs.\n")
        sp = speedups(pe)
        L.append("| contender | time to 1 % (s) | time to 0.1 % (s) | × nmfkit (0.1 %) | "
                 "final objective (rel. err) | iterations | s/iter | s/iter ÷ floor | "
                 "peak RSS (MiB) | notes |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        for name, ce in pe["contenders"].items():
            if ce.get("status") != "ok" or ce.get("final_obj") is None:
                L.append(f"| {name} | — | — | — | — | — | — | — | — | "
                         f"{ce.get('status')}: {str(ce.get('reason', ''))[:160]} |")
                continue
            cells = []
            for which, nkey in (("1%", "n_1"), ("0.1%", "n_01")):
                t = time_to(ce, which)
                ts = times_to(ce, which)
                if t is not None:
                    spread = (f" [{_fmt_s(min(ts))}–{_fmt_s(max(ts))}]" if len(ts) > 1 else "")
                    cells.append(f"{_fmt_s(t)}{spread} ({ce[nkey]} it)")
                elif ce.get(nkey):
                    miss = missed(ce, which)
                    cells.append(f"missed at {ce[nkey]} it" if miss else "—")
                else:
                    cells.append(f"not reached ({ce['trace_iters']} it, "
                                 f"{_fmt_s(ce['trace_s'])} s)")
            if name == "nmfkit":
                ratio = "1"
            elif name in sp:
                r, exact = sp[name]
                ratio = "never" if math.isinf(r) else f"{r:.1f}" if exact else f"> {r:.1f}"
            else:
                ratio = "—"
            fo = ce["final_obj"]
            rel = (f" ({math.sqrt(2 * fo / pe['X_sq']):.5f})"
                   if p["loss"] == "frobenius" and fo == fo else "")
            spi = sec_per_iter(ce)
            notes = [ce.get("note", "")]
            if ce["trace"].get("trace_mode") == "chain":
                notes.append("trace by chained max_iter=1 runs")
            if stopped_by_itself(ce, pe["budget"]):
                notes.append(f"the library stopped by itself after {ce['trace_iters']} it "
                             "(tol=0 given): it would not reach the target with more time")
            if ce["trace"].get("extended_to_s"):
                notes.append(f"trace extended to {ce['trace']['extended_to_s']:.0f} s of plain-fit "
                             f"time for a verdict (base: {ce['trace_base']['iters']} it)")
            fails = [t for t in ce.get("timed", []) if t.get("status") != "ok"]
            if fails:
                notes.append(f"{len(fails)} timed run(s) {fails[0].get('status')}: "
                             f"{str(fails[0].get('error'))[:80]}")
            L.append(f"| {name} | {cells[0]} | {cells[1]} | {ratio} | {fo:.6g}{rel} | "
                     f"{ce['trace_iters']} | {_fmt_s(spi)} | "
                     f"{'—' if not (spi and fl) else f'{spi / fl:.2f}'} | "
                     f"{_mib(peak_rss(ce))} | {'; '.join(n for n in notes if n)} |")
        for pkey in ("periter_hals", "periter_hals_baseline"):
            ph = pe.get(pkey)
            if not ph:
                continue
            who = ("nmfkit" if pkey == "periter_hals"
                   else ph.get("contender", "baseline").replace("-hals", ""))
            if ph.get("skip"):
                L.append(f"\n{who} solver='hals', seconds per iteration: not run ({ph['skip']}).")
            else:
                spis = _periter_values(ph)
                spi = _med(spis)
                if spi and fl:
                    L.append(f"\n{who} solver='hals', {ph['n']} iterations: {_fmt_s(spi)} s per "
                             f"iteration = **{spi / fl:.2f} x the floor** (target ≤ 1.3).")
                    if pkey == "periter_hals":
                        summary.append((key, "hals s/iter ÷ floor ≤ 1.3", spi / fl <= 1.3,
                                        f"{spi / fl:.2f}"))
                else:
                    err = [t.get("error") for t in ph["runs"] if t.get("status") != "ok"]
                    L.append(f"\n{who} solver='hals' per-iteration run failed: {err[:1]}")
        d = pe.get("defaults")
        if d:
            pairs = _seed_pairs(d)
            L.append("\nDrop-in (each library's defaults, only n_components"
                     + (" and random_state" if pairs else "") + " set"
                     + ("; KL: beta_loss='kullback-leibler', and solver='mu' for scikit-learn"
                        if p["loss"] != "frobenius" else "") + "), own init included"
                     + ("; round i gives both libraries random_state=i, so each pair starts "
                        "from the same nndsvda start; medians over the rounds:\n"
                        if pairs else ":\n"))
            L.append("| library | time (s) | iterations | final objective | rel. err | "
                     "peak RSS (MiB) | warnings |")
            L.append("|---|---|---|---|---|---|---|")
            dvals = {}
            for lib, runs in d.items():
                ok = [t for t in runs if t.get("status") == "ok" and t.get("runs")]
                if not ok:
                    err = runs[0].get("error") if runs else "not run"
                    L.append(f"| {lib} | — | — | — | — | — | {str(err)[:120]} |")
                    continue
                secs = _med([t["runs"][0]["seconds"] for t in ok])
                obj = _med([t["runs"][0]["obj"] for t in ok])
                its = _med([t["runs"][0]["n_iter"] for t in ok])
                rel = (f"{math.sqrt(2 * obj / pe['X_sq']):.5f}"
                       if p["loss"] == "frobenius" and obj == obj else "—")
                warn = ", ".join(sorted({w for t in ok for w in t["runs"][0].get("warnings", [])}))
                dvals[lib] = (secs, obj)
                L.append(f"| {lib} | {_fmt_s(secs)} | {its:.0f} | {obj:.6g} | {rel} | "
                         f"{_mib(_med([t.get('process_maxrss') for t in ok]))} | {warn} |")
            if pairs:
                obj_r = [n["obj"] / s_["obj"] for s_, n in pairs]
                time_r = [n["seconds"] / s_["seconds"] for s_, n in pairs]
                better = sum(r <= 1 + 1e-9 for r in obj_r)
                L.append("\nSeed by seed, nmfkit over scikit-learn: objective "
                         + ", ".join(f"{r:.6f}" for r in obj_r) + "; time "
                         + ", ".join(f"{r:.2f}" for r in time_r)
                         + f" (objective no higher on {better} of {len(pairs)} seeds).")
                on, tn = _med(obj_r), _med(time_r)
                ok = on <= 1 + 1e-9 and tn < 1
                summary.append((key, "defaults: objective ≤ sklearn's and time shorter", ok,
                                f"objective {on:.6f} x sklearn's, time {tn:.2f} x (medians of "
                                f"{len(pairs)} seeds; no higher on {better})"))
            elif "sklearn" in dvals and "nmfkit" in dvals:  # results from before seeded pairs
                (ts, os_), (tn, on) = dvals["sklearn"], dvals["nmfkit"]
                ok = on <= os_ * (1 + 1e-9) and tn < ts
                summary.append((key, "defaults: objective ≤ sklearn's and time shorter", ok,
                                f"objective {on / os_:.6f} x sklearn's, time {tn / ts:.2f} x"))
        # targets for this problem
        if sp or time_to(pe["contenders"].get("nmfkit", {}), "0.1%") is not None:
            if p["loss"] == "frobenius":
                others = {n: v for n, v in sp.items()
                          if not n.startswith("sklearn") and not n.startswith("nmfkit")}
                for label, pool, need in (("vs sklearn-cd", {n: v for n, v in sp.items()
                                                             if n == "sklearn-cd"}, 5.0),
                                          ("vs fastest other peer", others, 5.0)):
                    if not pool:
                        continue
                    # conservative: a peer that never reached the target counts with its
                    # lower bound, so '> x' below 5 leaves the target unproven
                    name, (r, exact) = min(pool.items(), key=lambda kv: kv[1][0])
                    met = r >= need
                    summary.append((key, f"time to 0.1 % ≥ {need:.0f}x shorter {label}", met,
                                    f"{_ratio_text(r, exact)} ({name})"))
            else:
                for name in KL_REFERENCES:
                    if name in sp:
                        r, exact = sp[name]
                        summary.append((key, f"time to 0.1 % ≥ 10x shorter vs {name}", r >= 10,
                                        _ratio_text(r, exact)))
        elif "nmfkit" in pe["contenders"]:
            ce = pe["contenders"]["nmfkit"]
            why = ce.get("reason") or ("did not reach 0.1 % of best" if ce.get("final_obj")
                                       else "no result")
            summary.append((key, "time-to-target ratios", False, f"nmfkit: {why}"[:160]))
        if key == "e":
            cs = pe["contenders"]
            a, b = peak_rss(cs.get("nmfkit", {})), peak_rss(cs.get("sklearn-cd", {}))
            if a and b:
                summary.append((key, "peak RSS ≤ sklearn-cd's", a <= b,
                                f"{a / 2**20:.0f} MiB vs {b / 2**20:.0f} MiB"))
        L.append("")

    L.append(readme_paragraph(res))
    if summary:
        rows = ["## Targets of issue 3\n", "| problem | target | met | measured |",
                "|---|---|---|---|"]
        rows += [f"| {k} | {what} | {'yes' if ok else '**no**'} | {val} |"
                 for k, what, ok, val in summary]
        rows.append("")
        L[intro_end:intro_end] = rows
    L[intro_end:intro_end] = before_after(res)
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    src = Path(sys.argv[1])
    res = json.loads(src.read_text())
    print(render(res, json_name=src.name))
