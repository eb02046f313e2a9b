"""A referee's checks on chapter 09's stored results (issue 24): are the metrics and the verdicts
to be trusted?

Run after ``python reference/ch09.py`` has trained and cached the models (this script loads them
through :func:`genae.infra.cache.trained_model` with exactly ch09.py's arguments, and trains any
that are missing). It measures, on the book's data set (ch09.py's ``DATASET``, its held-out split
halved as ch09.py halves it):

(a) metric validation: held-out images blurred, noised and with digit classes dropped, at
    several severities, measured by every image metric (FID, KID, precision, recall, MMD in
    features) in both feature extractors (the classifier and pixel PCA), with whether each metric
    ranks the damage correctly (:mod:`genae.degrade`);
(b) the real-vs-real baseline resplit ``--repeats`` times (default 200) at the chapter's counts
    (500 against 500), its mean and 95% interval, for both extractors
    (:func:`genae.evaluate.bootstrap_real_baseline`);
(c) the headline models (ch09.py's largest latent size, longest training, every kind and seed)
    at steps 0, 1, 2, 5, 10 of the authors' chain (:func:`genae.mcmc.run_chain`, mean decoding,
    stochastic): the second extractor's FID, KID, precision, recall and MMD, the powered latent
    two-sample tests against Q(Z) (multi-bandwidth MMD with a permutation p-value, and a
    classifier test; :mod:`genae.metrics`), and the data-copying statistic C_T in latent space;
    then steps 1, 2, 5, 10 against step 0 as one Holm-adjusted family per model and metric
    (:func:`genae.summary.step_family`), with the sentence that describes its shape;
(d) the training curve's flatness above the floor of the loss: the targets' own entropy
    (:mod:`genae.training_curve`), from ch09.py's ``ch09_curve.csv``.

    python reference/ch09_checks.py                       # everything (about 20 min on 2 cores)
    python reference/ch09_checks.py --only 16,vae,0 --epochs 2 --repeats 5 --out /tmp/checks

It writes, in ``--out`` (default: where ch09.py writes its stored results):

- ``ch09_checks.csv``: long format, one row per measured number: ``part`` (validation,
  baseline, chain, flatness), ``extractor``, the model's ids (``latent_dim``, ``model``, ``seed``,
  ``epochs``, ``step``), the degradation's (``degradation``, ``severity``), ``metric``, ``value``
  and, where they apply, ``low``/``high`` (an interval), ``p_value`` and ``z``;
- ``ch09_checks.json``: provenance (git commit, command, versions, machine, run time), the
  configuration, and the summaries: each extractor's accuracy and confidence on digits and on
  noise, the ranking checks, the step families with their sentences, the flatness table.

Jobs (one per model) run in ``--workers`` processes (default 1: the machine is shared), each on
one thread, so results repeat exactly on one machine.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # ch09.py's constants: one definition of the run
import ch09  # noqa: E402

STORED = HERE.parent / "genae" / "stored"
OUT = STORED if STORED.is_dir() else HERE
STEPS = (0, 1, 2, 5, 10)
FAMILY = (1, 2, 5, 10)
EXTRACTORS = ("classifier", "pca")
LATENT_METRICS = ("mmd_multiscale", "c2st_accuracy", "copying_ct")
IMAGE_SIZE = 32
NOISE_EXPOSURE = 1.0  # the classifier trained to be unsure of noise, reported beside the book's


def split() -> dict[str, torch.Tensor]:
    """ch09.py's split: the held-out halves (``real_a`` with its labels, ``real_b`` the
    reference) and the training images."""
    from genae.data import load_images
    from genae.evaluate import split_halves

    images, labels = load_images(ch09.DATASET, "test", image_size=IMAGE_SIZE).tensors
    # split_halves permutes by length and seed only: halving the indices gives the same halves
    index_a, index_b = split_halves(torch.arange(len(images)), seed=ch09.SPLIT_SEED)
    real_a, real_b, train = ch09.held_out()
    assert torch.equal(images[index_a], real_a) and torch.equal(images[index_b], real_b)
    return {"real_a": real_a, "labels_a": labels[index_a], "real_b": real_b, "train": train}


def extractor(kind: str):
    from genae.features import feature_extractor

    return feature_extractor(ch09.DATASET, image_size=IMAGE_SIZE, device="cpu", kind=kind)


def _row(part: str, metric: str, value: float, **ids) -> dict:
    return {"part": part, **ids, "metric": metric, "value": float(value)}


def validation(data: dict, kind: str) -> tuple[list[dict], list[dict]]:
    """(a) every metric at every degradation level, and the ranking check."""
    from genae.degrade import degradation_table, ranking_check
    from genae.evaluate import IMAGE_METRICS

    net = extractor(kind)
    table = degradation_table(net, data["real_b"], data["real_a"], data["labels_a"])
    # KID on standardised features too (each feature scaled by the reference's sd): issue 24
    table["kid_standardised"] = degradation_table(
        net, data["real_b"], data["real_a"], data["labels_a"], kid_normalise="standardise")["kid"]
    metrics = [*IMAGE_METRICS, "kid_standardised"]
    rows = [_row("validation", m, r[m], extractor=kind, degradation=r["degradation"],
                 severity=r["severity"], n=r["n"])
            for r in table.to_dict("records") for m in metrics]
    ranks = ranking_check(table, metrics=metrics, directions={"kid_standardised": -1})
    ranks = ranks.assign(extractor=kind)
    return rows, ranks.to_dict("records")


def baseline(data: dict, kind: str, repeats: int) -> list[dict]:
    """(b) real against real, resplit ``repeats`` times at the chapter's counts."""
    from genae.evaluate import bootstrap_real_baseline

    pool = torch.cat([data["real_a"], data["real_b"]])
    sizes = dict(n=len(data["real_a"]), n_reference=len(data["real_b"]), repeats=repeats)
    table = bootstrap_real_baseline(extractor(kind), pool, **sizes)
    standard = bootstrap_real_baseline(extractor(kind), pool, **sizes, kid_normalise="standardise")
    standard = standard[standard.metric == "kid"].assign(metric="kid_standardised")
    return [_row("baseline", r["metric"], r["mean"], extractor=kind, low=r["low"], high=r["high"],
                 sd=r["sd"], n=r["n"], repeats=r["repeats"])
            for r in pd.concat([table, standard]).to_dict("records")]


def latent_tests(z: torch.Tensor, q: torch.Tensor, codes_train: torch.Tensor,
                 permutations: int, seed: int) -> list[tuple[str, float, float, float]]:
    """(metric, value, p_value, z) of the powered tests of ``z`` against draws ``q`` of Q(Z), and
    the data-copying C_T (training codes against the held-out ``q``)."""
    from genae.metrics import classifier_two_sample_test, data_copying_ct, mmd_permutation_test

    test = mmd_permutation_test(z, q, n_permutations=permutations, seed=seed)
    c2st = classifier_two_sample_test(z, q, seed=seed)
    ct = data_copying_ct(codes_train, q, z, seed=seed)["ct"]
    nan = float("nan")
    return [("mmd_multiscale", test["statistic"], test["p_value"], test["z"]),
            ("c2st_accuracy", c2st["accuracy"], c2st["p_value"], nan),
            ("copying_ct", ct, nan, ct)]


def job(latent_dim: int, kind: str, seed: int, epochs: int, permutations: int) -> list[dict]:
    """(c) one headline model at the chain's steps: the second extractor and the latent tests."""
    torch.set_num_threads(1)
    from genae.chainstats import aggregate_posterior, decode_latents
    from genae.evaluate import IMAGE_METRICS, feature_bandwidth, feature_metrics
    from genae.infra.cache import trained_model
    from genae.mcmc import run_chain, sample_prior
    from genae.metrics import gaussian_stats, kid

    data = split()
    pca = extractor("pca")
    # exactly ch09.py's call (job()), so the cached models are the ones it measured
    model, _ = trained_model(kind, dataset=ch09.DATASET, latent_dim=latent_dim, epochs=epochs,
                             seed=seed, progress=False, device="cpu")
    model.eval()
    g = torch.Generator().manual_seed(seed)
    q = aggregate_posterior(model, data["real_b"], g)  # Q(Z) on the reference images
    codes_train = aggregate_posterior(model, data["train"], g)
    z0 = sample_prior(len(data["real_a"]), latent_dim, generator=g)
    trajectory = run_chain(model, z0, max(STEPS), sample=True, generator=g, decode="mean")
    ref = pca.features(data["real_b"])
    stats, h = gaussian_stats(ref), feature_bandwidth(ref)
    ids = {"latent_dim": latent_dim, "model": kind, "seed": seed, "epochs": epochs}
    rows = []
    for step in STEPS:
        feats = pca.features(decode_latents(model, trajectory[step]))
        image = feature_metrics(feats, ref, real_stats=stats, bandwidth=h)
        image["kid_standardised"] = kid(feats, ref, normalise="standardise")[0]
        rows += [_row("chain", m, image[m], extractor="pca", step=step, **ids)
                 for m in (*IMAGE_METRICS, "kid_standardised")]
        for metric, value, p, z in latent_tests(trajectory[step], q, codes_train, permutations,
                                                seed):
            rows.append({**_row("chain", metric, value, extractor="latent", step=step, **ids),
                         "p_value": p, "z": z})
    return rows


def families(rows: list[dict]) -> dict:
    """Steps 1, 2, 5, 10 against 0 as one Holm-adjusted family per model and metric, and the
    sentences."""
    from genae.summary import family_sentence, step_family

    chain = pd.DataFrame([r for r in rows if r["part"] == "chain"])
    if chain.empty:
        return {}
    wide = chain.pivot_table(index=["latent_dim", "model", "seed", "epochs", "step"],
                             columns="metric", values="value").reset_index()
    metrics = ["fid", "kid", "kid_standardised", "precision", "recall", "mmd_feat",
               "mmd_multiscale"]
    fam = step_family(wide, by=["latent_dim", "model"], steps=FAMILY, metrics=metrics)
    sentences = {f"{d}-D {m}": family_sentence(g, m.upper(), metrics=metrics)
                 for (d, m), g in fam.groupby(["latent_dim", "model"], sort=False)}
    return {"note": "image metrics in the pca extractor; mmd_multiscale in latent space against "
                    "Q(Z); verdicts from Holm-adjusted paired t-tests over seeds",
            "rows": fam.to_dict("records"), "sentences": sentences}


def flatness(data: dict, curve_path: Path, lengths: list[int]) -> tuple[list[dict], dict]:
    """(d) the curve's flatness, plainly and above the held-out targets' entropy."""
    from genae.training_curve import flatness_table, target_entropy

    floor = target_entropy(torch.cat([data["real_a"], data["real_b"]]))  # the curve's images
    if not curve_path.is_file():
        return [], {"floor": floor, "note": f"no curve at {curve_path}"}
    curve = pd.read_csv(curve_path)
    rows, tables = [], {}
    for length in lengths:
        try:
            table = flatness_table(curve, floor, window=ch09.FLAT_WINDOW,
                                   tolerance=ch09.FLAT_TOLERANCE, up_to=length)
        except ValueError as err:  # the curve has no point a window before this length
            tables[str(length)] = str(err)
            continue
        tables[str(length)] = table.to_dict("records")
        for r in table.to_dict("records"):
            ids = {k: r[k] for k in ("latent_dim", "model", "seed")}
            rows += [_row("flatness", m, r[m], epochs=length, **ids)
                     for m in ("loss", "fall", "excess", "fall_above_floor")]
    return rows, {"floor": floor, "curve": str(curve_path), "tables": tables}


def reports(exposed: bool) -> dict:
    """Each extractor's held-out accuracy, linear-probe accuracy, confidence on digits and noise;
    with ``exposed``, also the classifier trained with noise exposure (trained once, cached)."""
    from genae.data import load_images
    from genae.features import domain_classifier, extractor_report

    train = load_images(ch09.DATASET, "train", image_size=IMAGE_SIZE)
    test = load_images(ch09.DATASET, "test", image_size=IMAGE_SIZE)
    out = {kind: extractor_report(extractor(kind), train, test) for kind in EXTRACTORS}
    if not exposed:
        return out
    exposed = domain_classifier(ch09.DATASET, image_size=IMAGE_SIZE, device="cpu",
                                noise_exposure=NOISE_EXPOSURE)
    out[f"classifier, noise exposure {NOISE_EXPOSURE:g} (not used for the tables)"] = (
        extractor_report(exposed, train, test))
    return out


def git(*cmd: str) -> str:
    try:
        return subprocess.run(["git", *cmd], cwd=HERE, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def provenance(args: argparse.Namespace, jobs: list) -> dict:
    import numpy
    import scipy
    import sklearn

    return {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--", "genae", "reference")),
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "numpy": numpy.__version__, "scipy": scipy.__version__,
                     "pandas": pd.__version__, "scikit-learn": sklearn.__version__},
        "machine": {"platform": platform.platform(),
                    "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(), "workers": args.workers, "threads_per_worker": 1,
                    "device": "cpu"},
        "config": {"dataset": ch09.DATASET, "image_size": IMAGE_SIZE, "steps": list(STEPS),
                   "family": list(FAMILY), "models": [dict(zip(
                       ("latent_dim", "kind", "seed", "epochs"), j)) for j in jobs],
                   "chain": "genae.mcmc.run_chain, decode='mean', sample=True",
                   "extractors": list(EXTRACTORS), "repeats": args.repeats,
                   "permutations": args.permutations, "parts": args.parts,
                   "split": f"ch09.py's: the held-out split halved with split_halves("
                            f"seed={ch09.SPLIT_SEED}); the second half is the reference and Q(Z),"
                            " the first half the degraded images and as many chains"},
    }


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="one model, LATENT,KIND,SEED (e.g. 16,vae,0)")
    parser.add_argument("--epochs", type=int, default=max(ch09.LENGTHS),
                        help="the models' training length (default: ch09.py's longest)")
    parser.add_argument("--repeats", type=int, default=200, help="baseline resplits")
    parser.add_argument("--permutations", type=int, default=200, help="MMD permutations")
    parser.add_argument("--parts", default="abcd", help="which parts to run, e.g. ab")
    parser.add_argument("--curve", type=Path, default=None,
                        help="ch09.py's curve (default: ch09_curve.csv beside --out's default)")
    parser.add_argument("--no-exposed", dest="exposed", action="store_false",
                        help="skip the noise-exposed classifier's report (it trains one)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.only:
        try:
            latent, kind, seed = args.only.split(",")
            args.jobs = [(int(latent), kind, int(seed), args.epochs)]
        except ValueError:
            parser.error(f"--only {args.only!r}: write LATENT,KIND,SEED, for example 16,vae,0")
        if kind not in ch09.KINDS:
            parser.error(f"--only: unknown kind {kind!r}, choose one of {', '.join(ch09.KINDS)}")
    else:
        args.jobs = [(max(ch09.LATENTS), k, s, args.epochs) for s in ch09.SEEDS for k in ch09.KINDS]
    if set(args.parts) - set("abcd"):
        parser.error(f"--parts {args.parts!r}: letters from abcd")
    args.curve = args.curve or OUT / "ch09_curve.csv"
    return args


def run_jobs(args: argparse.Namespace, save) -> list[dict]:
    """(c) for every model, in this process (one worker) or in spawned ones."""
    rows: list[dict] = []
    if args.workers <= 1:
        for i, j in enumerate(args.jobs):
            rows += job(*j, args.permutations)
            save(rows)
            print(f"{i + 1}/{len(args.jobs)} {j}", flush=True)
        return rows
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no forked OpenMP state
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=context) as pool:
        futures = {pool.submit(job, *j, args.permutations): j for j in args.jobs}
        for i, future in enumerate(futures):
            rows += future.result()
            save(rows)
            print(f"{i + 1}/{len(args.jobs)} {futures[future]}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> pd.DataFrame:
    args = parse(argv)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    started, meta = time.perf_counter(), provenance(args, args.jobs)  # the commit measured
    data = split()
    rows: list[dict] = []
    summary: dict = {"extractors": reports(args.exposed)} if "a" in args.parts else {}

    def save(extra: list[dict] = ()) -> None:
        table = pd.DataFrame([*rows, *extra])
        table.to_csv(args.out / "ch09_checks.csv", index=False, float_format="%.6g")
        done = {**meta, "run_seconds": round(time.perf_counter() - started, 1), **summary}
        (args.out / "ch09_checks.json").write_text(json.dumps(done, indent=2, default=str) + "\n")

    if "a" in args.parts:
        summary["ranking"] = []
        for kind in EXTRACTORS:
            r, ranks = validation(data, kind)
            rows += r
            summary["ranking"] += ranks
        save()
    if "b" in args.parts:
        rows += [r for kind in EXTRACTORS for r in baseline(data, kind, args.repeats)]
        save()
    if "d" in args.parts:
        r, summary["flatness"] = flatness(data, args.curve, sorted(ch09.LENGTHS))
        rows += r
        save()
    if "c" in args.parts:
        rows += run_jobs(args, save)
        summary["families"] = families(rows)
    save()
    print(f"wrote {args.out / 'ch09_checks.csv'} ({len(rows)} rows) in "
          f"{time.perf_counter() - started:.0f} s")
    return pd.DataFrame(rows)


if __name__ == "__main__":
    main()
