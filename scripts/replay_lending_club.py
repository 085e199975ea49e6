"""Replay Lending Club 2010-2011 month by month through scoring, decisions, monitoring and retraining.

1. Train the champion on loans issued 2007-2009 (with its monitoring reference), register and promote it.
2. For every month of 2010-2011: score that month's applications with the champion and decide with
   the bundled example policy (``lendscore.decision.decide``, called directly: the HTTP service is
   not used), log them in an in-memory audit frame shaped like the audit store's
   ``decisions_frame()``, shadow-score them with the challenger if there is one (never deciding),
   feed back the outcomes that have "arrived" (through ``validate_outcomes``, with a few deliberately
   bad ones), and compute that month's drift and the realised performance of the vintages matured so far.
3. Every quarter end, retrain a challenger on all matured loans but the last three matured months, compare
   it with the champion on those three months (out of time) and promote it only if the rules hold.

Simulated timing (the bundled copy has no payment dates): a loan's final status (Charged Off = default)
is taken to arrive ``--lag`` months (default 6) after the decision, and a vintage counts as matured
then. Real 36/60-month loans mature much later: this compresses time so that the 24 replayed months
show outcomes, performance and retraining; the status itself is the loan's real final status.

Run from the repo: ``python scripts/replay_lending_club.py`` (about a minute). Writes
``docs/monitoring_*.png``, the results section of ``docs/monitoring.md`` (between the replay markers),
and ``build/replay/`` (registry, model files, HTML report, JSON of the figures).
"""
from __future__ import annotations

import argparse
import json
import logging
import time as _time
from pathlib import Path

import numpy as np
import pandas as pd

import lendscore
from lendscore.data import get_profile, load_bundled, prepare
from lendscore.decision import decide, load_catalogue, load_policy, scored_from_details
from lendscore.monitoring import (
    Registry,
    RetrainRules,
    build_reference,
    collect_alerts,
    compare_models,
    drift,
    performance_by_vintage,
    validate_outcomes,
)
from lendscore.monitoring.drift import DECISION_COLUMNS, REFERENCE_KEY

ROOT = Path(__file__).resolve().parents[1]
START_MARK, END_MARK = "<!-- replay:start -->", "<!-- replay:end -->"
log = logging.getLogger("replay")


def applicant_dict(row: dict) -> dict:
    """One Lending Club row as an applicant for the policy (finances and loan from LC fields)."""
    monthly = float(row["annual_inc"]) / 12.0
    out = {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
    out["finances"] = {"gross_income": monthly,
                       "existing_obligations": max(float(row["dti"] or 0.0), 0.0) / 100.0 * monthly}
    out["loan"] = {"amount": float(row["loan_amnt"]), "annual_rate": float(row["int_rate"]),
                   "term_months": int(row["term"])}
    return out


def fit_model(X, y, path: Path, window: tuple[str, str]):
    model = lendscore.Scorecard().fit(X, y)
    p = model.predict_proba(X)[:, 1]
    from lendscore.validation import ks_statistic, roc_auc
    model.save(path, training_window={"start": window[0], "end": window[1]},
               metrics={"train": {"auc": roc_auc(y, p), "ks": ks_statistic(y, p).statistic, "n": int(len(y))}},
               **{REFERENCE_KEY: build_reference(model, X).to_dict()})
    return lendscore.load(path)


def decide_month(model, version, apps: pd.DataFrame, policy, catalogue):
    det = model.score_details(apps)
    scored = scored_from_details(det, model_version=version, max_points=model.max_points_)
    rows = apps.to_dict(orient="records")
    return [decide(applicant_dict(r), s, policy, catalogue) for r, s in zip(rows, scored, strict=True)], det


def main() -> None:
    ap = argparse.ArgumentParser(description="Lending Club monitoring replay")
    ap.add_argument("--lag", type=int, default=6, help="months until a loan's outcome arrives (simulated)")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "replay")
    ap.add_argument("--docs", type=Path, default=ROOT / "docs")
    ap.add_argument("--explain", nargs="*", default=[],
                    help="characteristics whose CSI shift is explained (RetrainRules.explained_shifts)")
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite docs/monitoring.md and the pngs")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("lendscore.monitoring").setLevel(logging.ERROR)  # alerts are tabulated below
    t_start = _time.perf_counter()
    rng = np.random.default_rng(2010)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    X, y, issue, _ = prepare(load_bundled("lending_club"), get_profile("lending_club_2007_2011"))
    issue = pd.to_datetime(issue)
    # 1. champion on 2007-2009
    reg_root = out / "registry"
    if (reg_root / "index.json").exists():
        for p in sorted(reg_root.rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
    reg = Registry(reg_root)
    train = (issue < "2010-01-01").to_numpy()
    champion = fit_model(X[train], y[train], out / "v1.json", ("2007-06-01", "2009-12-31"))
    reg.register(out / "v1.json", version="v1", by="replay", why="trained on 2007-2009")
    reg.promote("v1", by="replay", why="first model")
    champ_version = "v1"
    policy, catalogue = load_policy(None, catalogue=load_catalogue()), load_catalogue()
    rules = RetrainRules(explained_shifts=list(args.explain))

    months = pd.period_range("2010-01", "2011-12", freq="M")
    audit: list[pd.DataFrame] = []
    stored = pd.DataFrame(columns=["decision_id", "defaulted", "outcome_date", "reported_at"])
    pending = []  # outcomes not yet arrived
    refused_total: dict[str, int] = {}
    monthly, retrains, shadow_rows = [], [], []
    drift_frames, csi_frames, bin_frames = [], [], []
    n_dec = 0
    for m in months:
        in_month = (issue.dt.to_period("M") == m).to_numpy()
        apps = X[in_month]
        decisions, det = decide_month(champion, champ_version, apps, policy, catalogue)
        created = (m.to_timestamp().tz_localize("UTC")
                   + pd.to_timedelta(rng.uniform(0, m.days_in_month * 86400, len(apps)), unit="s"))
        ids = [f"lc-{n_dec + i:06d}" for i in range(len(apps))]
        n_dec += len(apps)
        frame = pd.DataFrame({
            "decision_id": ids, "request_id": ids, "created_at": created, "model_version": champ_version,
            "policy_version": policy.version, "outcome": [d.outcome.value for d in decisions],
            "pd": [d.pd for d in decisions], "score": [d.score for d in decisions],
            "grade": [d.grade for d in decisions]})
        inputs = apps.reset_index(drop=True).rename(columns={c: "input." + c for c in apps.columns
                                                             if c in DECISION_COLUMNS})
        frame = pd.concat([frame, inputs], axis=1)
        challenger = reg.challenger()
        if challenger is not None:  # shadow scoring: logged for comparison, never used to decide
            shadow = lendscore.load(challenger[1]).score_details(apps)
            band = lambda s: np.where(s >= 555, "approve", np.where(s >= 530, "refer", "decline"))  # noqa: E731
            shadow_rows.append({"month": str(m), "challenger": challenger[0], "n": len(apps),
                                "band_differs": float(np.mean(band(shadow["score"].to_numpy())
                                                              != band(det["score"].to_numpy())))})
        audit.append(frame)
        pending.append(pd.DataFrame({"decision_id": ids, "defaulted": y[in_month].to_numpy(),
                                     "outcome_date": created + pd.DateOffset(months=args.lag)}))
        decisions_all = pd.concat(audit, ignore_index=True)
        month_end = (m + 1).to_timestamp().tz_localize("UTC") - pd.Timedelta(seconds=1)
        # outcomes that arrived this month, plus a few bad ones (refused and counted)
        waiting = pd.concat(pending, ignore_index=True)
        arrived = waiting[waiting["outcome_date"] <= month_end]
        pending = [waiting[waiting["outcome_date"] > month_end]]
        if len(arrived):
            bad = pd.DataFrame({"decision_id": ["lc-unknown", arrived["decision_id"].iloc[0],
                                                decisions_all["decision_id"].iloc[-1]],
                                "defaulted": [0, int(arrived["defaulted"].iloc[0]), 1],
                                "outcome_date": [month_end, arrived["outcome_date"].iloc[0],
                                                 decisions_all["created_at"].iloc[-1] - pd.Timedelta(days=3)]})
            batch = pd.concat([arrived, bad], ignore_index=True).assign(reported_at=month_end)
            accepted, rej = validate_outcomes(batch, decisions_all, existing=stored)
            stored = pd.concat([stored if len(stored) else None, accepted], ignore_index=True)
            for k, v in rej.counts.items():
                refused_total[k] = refused_total.get(k, 0) + v
        # drift of this month against the serving champion's training distribution
        d = drift(frame, champion, period="M")
        s = d.score.iloc[0]
        worst = d.worst().iloc[0]
        drift_frames.append(d.score.assign(model=champ_version))
        csi_frames.append(d.characteristics.assign(model=champ_version))
        bin_frames.append(d.bins[d.bins["characteristic"] == "score"].assign(model=champ_version))
        perf = performance_by_vintage(decisions_all, stored, as_of=month_end, maturity_months=args.lag)
        matured = perf.vintages[perf.vintages["matured"]]
        newest = matured.iloc[-1] if len(matured) else None
        alerts = collect_alerts(d, None, period=str(m))
        row = {"month": str(m), "model": champ_version, "n": len(frame),
               "approve": float((frame["outcome"] == "approve").mean()),
               "refer": float((frame["outcome"] == "refer").mean()),
               "score_psi": float(s["psi"]), "psi_flag": s["flag"], "psi_p": float(s["p_value"]),
               "top_csi": f"{worst['characteristic']} {worst['psi']:.2f}",
               "n_csi_significant": int((d.characteristics["flag"] == "significant").sum()),
               "alerts": len(alerts), "outcomes_stored": len(stored),
               "matured_vintage": None if newest is None else newest["vintage"],
               "auc": None if newest is None else float(newest["auc"]),
               "ks": None if newest is None else float(newest["ks"]),
               "bad_rate": None if newest is None else float(newest["bad_rate"]),
               "bad_rate_approved": None if newest is None else float(newest["bad_rate_approved"]),
               "retrain": ""}
        # 3. quarterly retraining on matured outcomes
        if m.month in (3, 6, 9, 12) and len(matured) >= 3:
            last3 = list(matured["vintage"].iloc[-3:])
            oot_start = pd.Period(last3[0], "M").to_timestamp()
            oot_end = pd.Period(last3[-1], "M").to_timestamp(how="end")
            known = decisions_all.merge(stored[["decision_id", "defaulted"]], on="decision_id")
            known = known[pd.to_datetime(known["created_at"]).dt.tz_convert(None) <= oot_end]
            Xk = known[[("input." + c if c in DECISION_COLUMNS else c) for c in X.columns]].copy()
            Xk.columns = list(X.columns)
            t_known = pd.to_datetime(known["created_at"]).dt.tz_convert(None)
            X_tr = pd.concat([X[train], Xk[(t_known < oot_start).to_numpy()]], ignore_index=True)
            y_tr = pd.concat([y[train], known.loc[(t_known < oot_start).to_numpy(), "defaulted"]],
                             ignore_index=True).astype(int)
            X_oot = Xk[(t_known >= oot_start).to_numpy()].reset_index(drop=True)
            y_oot = known.loc[(t_known >= oot_start).to_numpy(), "defaulted"].astype(int).reset_index(drop=True)
            for old in reg.list():  # the previous challenger stops shadow-scoring
                if old["state"] == "candidate":
                    reg.retire(old["version"], by="replay", why="replaced by a newer challenger")
            version = f"v{len(reg.list()) + 1}"
            path = out / f"{version}.json"
            window = ("2007-06-01", f"{(oot_start - pd.Timedelta(days=1)):%Y-%m-%d}")
            cand = fit_model(X_tr, y_tr, path, window)
            decision = compare_models(champion, cand, X_oot, y_oot, rules)
            reg.register(path, version=version, by="replay", why=f"quarterly retrain {m}",
                         metrics={"oot": decision.challenger},
                         extra={"retrain": {"oot": [last3[0], last3[-1]], **decision.to_dict()}})
            promoted = False
            if decision.promote:
                reg.promote(version, by="replay", why="retrain rules hold: " + "; ".join(
                    st["detail"] for st in decision.steps))
                champion, champ_version, promoted = cand, version, True
            # a challenger that is not promoted stays a candidate: shadow-scored until the next retrain
            steps = {st["step"]: st for st in decision.steps}
            retrains.append({
                "month": str(m), "version": version, "train_rows": len(y_tr), "oot": f"{last3[0]}..{last3[-1]}",
                "oot_rows": len(y_oot), "champion_auc": (decision.champion or {}).get("auc"),
                "challenger_auc": decision.challenger.get("auc"),
                "calibration_gap": steps.get("calibration", {}).get("value"),
                "max_csi": steps.get("stability", {}).get("value"),
                "failed": [st["step"] for st in decision.steps if st["passed"] is False],
                "promoted": promoted, "stability_detail": steps.get("stability", {}).get("detail", ""),
                "summary": decision.summary, "steps": decision.steps,
            })
            row["retrain"] = f"{version}: {'PROMOTED' if promoted else 'kept ' + row['model']}"
        monthly.append(row)
        print(f"{row['month']} n={row['n']:5d} model={row['model']} approve={row['approve']:.2f} "
              f"PSI={row['score_psi']:.3f} ({row['psi_flag']}) top CSI {row['top_csi']} "
              f"matured={row['matured_vintage']} AUC={row['auc'] if row['auc'] is None else round(row['auc'], 3)} "
              f"{row['retrain']}", flush=True)

    decisions_all = pd.concat(audit, ignore_index=True)
    final_perf = performance_by_vintage(decisions_all, stored, as_of="2011-12-31T23:59:59Z",
                                       maturity_months=args.lag)
    drift_all = pd.concat(drift_frames, ignore_index=True)
    csi_all = pd.concat(csi_frames, ignore_index=True)
    bins_all = pd.concat(bin_frames, ignore_index=True)
    summary = {"rules": rules.model_dump(), "lag_months": args.lag, "n_decisions": int(len(decisions_all)), "monthly": monthly,
               "retrains": retrains, "shadow": shadow_rows, "outcomes_refused": refused_total,
               "outcomes_stored": int(len(stored)),
               "final_vintages": final_perf.vintages.to_dict(orient="records"),
               "calibration": final_perf.calibration.astype({"group": str}).to_dict(orient="records"),
               "history": reg.history(), "seconds": _time.perf_counter() - t_start}
    (out / "replay.json").write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
    write_outputs(args, out, summary, drift_all, csi_all, bins_all, final_perf)
    print(f"done in {summary['seconds']:.0f} s; wrote {out / 'replay.json'}")


def write_outputs(args, out: Path, summary, drift_all, csi_all, bins_all, final_perf) -> None:
    from lendscore.monitoring import DriftResult
    from lendscore.reports.monitoring import (
        MonitoringContext,
        plot_psi_over_time,
        plot_score_shift,
        plot_vintage_metrics,
        write_monitoring_report,
    )
    from lendscore.reports.plots import plot_calibration

    # drift figures of the months served by v1 (the champion trained on 2007-2009)
    d_v1 = DriftResult(period="M", score=drift_all[drift_all["model"] == "v1"].drop(columns="model"),
                       characteristics=csi_all[csi_all["model"] == "v1"].drop(columns="model"),
                       bins=bins_all[bins_all["model"] == "v1"].drop(columns="model"),
                       inputs=pd.DataFrame(columns=["missing_shift", "out_of_range_rate"]),
                       reference=ReferenceNote("v1 training loans 2007-2009"))
    figs = {"monitoring_psi.png": plot_psi_over_time(d_v1),
            "monitoring_vintage.png": plot_vintage_metrics(final_perf.vintages),
            "monitoring_calibration.png": plot_calibration(final_perf.calibration,
                                                           title="Calibration by grade, matured vintages 2010-2011")}
    if len(d_v1.bins):
        figs["monitoring_score_shift.png"] = plot_score_shift(d_v1)
    targets = [out] + ([] if args.no_docs else [args.docs])
    for t in targets:
        for name, fig in figs.items():
            fig.savefig(t / name, dpi=100)
    ctx = MonitoringContext(title="Lending Club replay 2010-2011", model_info={"champion at start": "v1",
                                                                               "outcome lag (simulated)": args.lag},
                            drift=d_v1 if len(d_v1.score) else None, performance=final_perf,
                            retrain=[{"label": r["month"], **r} for r in summary["retrains"]],
                            outcome_rejections={"n_received": summary["outcomes_stored"] + sum(
                                summary["outcomes_refused"].values()), "n_accepted": summary["outcomes_stored"],
                                "n_rejected": sum(summary["outcomes_refused"].values()),
                                "counts": summary["outcomes_refused"]})
    try:
        write_monitoring_report(ctx, out / "monitoring.html")
    except Exception as exc:  # noqa: BLE001 - the figures and tables above are the deliverable
        print(f"report not written: {exc}")
    if not args.no_docs:
        write_markdown(args.docs / "monitoring.md", summary)


class ReferenceNote:
    """Stands in for the reference in a drift result rebuilt from monthly pieces (the report shows its source)."""

    def __init__(self, source: str):
        self.source = source


def _f(v, spec="{:.3f}"):
    return "–" if v is None or (isinstance(v, float) and v != v) else spec.format(v)


def write_markdown(path: Path, s) -> None:
    lines = [START_MARK, "", f"_Retrain rules: `{json.dumps(s['rules'])}`._", "", f"_Generated by `python scripts/replay_lending_club.py` (outcome lag {s['lag_months']} "
             f"months, simulated; {s['n_decisions']:,} decisions; {s['seconds']:.0f} s)._", "",
             "### Month by month", "",
             "| month | model | n | approve | refer | score PSI | flag | chi-sq p | top CSI | significant CSIs "
             "| newest matured vintage | AUC | KS | bad rate | bad rate approved | retrain |",
             "|---|---|---:|---:|---:|---:|---|---:|---|---:|---|---:|---:|---:|---:|---|"]
    for r in s["monthly"]:
        lines.append(f"| {r['month']} | {r['model']} | {r['n']:,} | {r['approve']:.1%} | {r['refer']:.1%} | "
                     f"{r['score_psi']:.3f} | {r['psi_flag']} | {r['psi_p']:.2g} | {r['top_csi']} | "
                     f"{r['n_csi_significant']} | {r['matured_vintage'] or '–'} | {_f(r['auc'])} | {_f(r['ks'])} | "
                     f"{_f(r['bad_rate'], '{:.1%}')} | {_f(r['bad_rate_approved'], '{:.1%}')} | {r['retrain'] or ''} |")
    lines += ["", "### Retraining decisions", "",
              "| at | challenger | train rows | OOT vintages | OOT rows | champion AUC | challenger AUC | "
              "calibration gap | max CSI | failed rules | promoted |", "|---|---|---:|---|---:|---:|---:|---:|---:|---|---|"]
    for r in s["retrains"]:
        lines.append(f"| {r['month']} | {r['version']} | {r['train_rows']:,} | {r['oot']} | {r['oot_rows']:,} | "
                     f"{_f(r['champion_auc'], '{:.4f}')} | {_f(r['challenger_auc'], '{:.4f}')} | "
                     f"{_f(r['calibration_gap'], '{:.4f}')} | {_f(r['max_csi'])} | "
                     f"{', '.join(r['failed']) or 'none'} | {'yes' if r['promoted'] else 'no'} |")
    lines += ["", "Stability details of each retrain:", ""]
    lines += [f"- {r['month']} {r['version']}: {r['stability_detail']}" for r in s["retrains"]]
    lines += ["", "### Realised performance by vintage (read at the end of the replay, 2011-12-31)", "",
              "| vintage | n | approve | outcomes | bad rate | bad rate approved | mean PD | AUC | KS |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for v in s["final_vintages"]:
        lines.append(f"| {v['vintage']} | {v['n']:,} | {v['approval_rate']:.1%} | {v['n_outcome']:,} | "
                     f"{_f(v['bad_rate'], '{:.1%}')} | {_f(v['bad_rate_approved'], '{:.1%}')} | {v['mean_pd']:.1%} | "
                     f"{_f(v['auc'])} | {_f(v['ks'])} |")
    lines += ["", "### Calibration by grade (all matured vintages, exact binomial test)", "",
              "| grade | n | defaults | predicted PD | observed | p-value |", "|---|---:|---:|---:|---:|---:|"]
    for c in s["calibration"]:
        lines.append(f"| {c['group']} | {c['n']:,} | {c['n_event']:,} | {c['predicted_pd']:.2%} | "
                     f"{c['observed_rate']:.2%} | {c['binomial_p_value']:.2g} |")
    ref = s["outcomes_refused"]
    lines += ["", f"Outcome feed: {s['outcomes_stored']:,} stored; refused and counted: "
              + ", ".join(f"{k} {v}" for k, v in ref.items() if v) + ".", ""]
    if s["shadow"]:
        lines += ["Shadow scoring (challenger scored beside the champion, never deciding): share of applicants "
                  "whose score band would differ: " + ", ".join(f"{r['month']} {r['challenger']} "
                                                                f"{r['band_differs']:.1%}" for r in s["shadow"]) + ".",
                  ""]
    lines.append(END_MARK)
    text = path.read_text(encoding="utf-8") if path.exists() else f"# Monitoring\n\n{START_MARK}\n{END_MARK}\n"
    if START_MARK not in text:
        text += f"\n{START_MARK}\n{END_MARK}\n"
    head, rest = text.split(START_MARK, 1)
    tail = rest.split(END_MARK, 1)[1]
    path.write_text(head + "\n".join(lines) + tail, encoding="utf-8")


if __name__ == "__main__":
    main()
