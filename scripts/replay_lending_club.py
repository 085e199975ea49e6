"""Replay Lending Club 2010-2011 month by month through the decision service, monitoring and retraining.

1. Train the champion on loans issued 2007-2009 (with its monitoring reference), register and promote it.
2. Build the real service app in process (``lendscore.service.create_app`` with ``registry_dir`` set,
   so it serves the registry's champion and shadow-scores its challenger; an SQLite audit store in the
   output folder; a clock the replay sets, so every decision's ``created_at`` falls inside its replayed
   month) and talk to it over HTTP with the test client.
3. For every month of 2010-2011: send that month's applications, day by day, through
   ``POST /v1/decisions/batch`` (at most ``max_batch`` = 1000 a request; the service scores, decides with
   the bundled example policy, shadow-scores with the challenger, never deciding with it, and commits
   every decision to the audit store), send the outcomes that have "arrived" through
   ``POST /v1/outcomes/batch`` (admin key), with three deliberately bad ones a month (an unknown id, a
   duplicate, one dated before its decision) that the service refuses and counts, then read the
   decisions back from the audit store with the reader ``lendscore monitor`` uses
   (:func:`lendscore.monitoring.read_decisions` on the store's URL: the stored applications as
   ``input.<name>``, so Lending Club's own ``grade`` never meets the model's), the outcomes and shadow
   scores with ``outcomes_frame()`` and ``shadow_frame()``, and compute that month's drift (every
   characteristic, the input warnings) and the realised performance of the vintages matured so far.
4. Every quarter end, retrain a challenger on all matured loans but the last three matured months, compare
   it with the champion on those three months (out of time) and promote it only if the rules hold. After
   a retrain changes the registry (a new challenger, or a promotion) the app is rebuilt, as a restart
   would: new process state, the same audit store, and the service serves the registry's new champion
   and shadow-scores the new challenger.

Simulated timing (the bundled copy has no payment dates): a loan's final status (Charged Off = default)
is taken to arrive ``--lag`` months (default 6) after the decision, and a vintage counts as matured
then. Real 36/60-month loans mature much later: this compresses time so that the 24 replayed months
show outcomes, performance and retraining; the status itself is the loan's real final status.

Run from the repo: ``python scripts/replay_lending_club.py`` (about a minute). Writes
``docs/monitoring_*.png``, the results section of ``docs/monitoring.md`` (between the replay markers),
and ``build/replay/`` (registry, model files, service settings, SQLite audit store ``audit.db``, HTML
report, JSON of the figures).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import time as _time
from pathlib import Path

import numpy as np
import pandas as pd

import lendscore
from lendscore.data import get_profile, load_bundled, prepare
from lendscore.monitoring import (
    Registry,
    RetrainRules,
    collect_alerts,
    compare_models,
    drift,
    performance_by_vintage,
)
from lendscore.monitoring.sources import INPUT_PREFIX, prepare_monitoring_frame, read_decisions
from lendscore.service import create_app, load_settings
from lendscore.service.testing import demo_keys, test_client, write_settings
from lendscore.training import package_model

ROOT = Path(__file__).resolve().parents[1]
START_MARK, END_MARK = "<!-- replay:start -->", "<!-- replay:end -->"
MAX_BATCH = 1000  # the service's max_batch: applications per POST /v1/decisions/batch
log = logging.getLogger("replay")


def _json_value(v):
    """A frame value as JSON: None for missing, float for numbers, str for categories."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
        return float(v)
    return str(v)


def application_body(row: dict, applicant_id: str) -> dict:
    """One Lending Club row as a ``POST /v1/decisions/batch`` application: the model inputs as the
    applicant, finances and loan from LC fields (monthly income, DTI as existing obligations)."""
    monthly = float(row["annual_inc"]) / 12.0
    return {
        "applicant": {k: _json_value(v) for k, v in row.items()},
        "finances": {
            "gross_income": monthly,
            "existing_obligations": max(float(row["dti"] or 0.0), 0.0) / 100.0 * monthly,
        },
        "loan": {
            "amount": float(row["loan_amnt"]),
            "annual_rate": float(row["int_rate"]),
            "term_months": int(row["term"]),
        },
        "applicant_id": applicant_id,
    }


class ReplayClock:
    """The service's clock: the replay sets ``now`` before each request (decisions inside their month)."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class Service:
    """The real service app in process, spoken to over HTTP (test client); ``restart`` rebuilds it
    (new process state: the registry's champion and challenger are loaded again; same audit store)."""

    def __init__(self, settings, clock: ReplayClock, keys: dict[str, str]):
        self.settings, self.clock, self.keys = settings, clock, keys
        self.app = self.client = None
        self.restarts = 0

    def start(self) -> Service:
        self.app = create_app(self.settings, clock=self.clock)
        self.client = test_client(self.app)
        self.client.__enter__()  # runs the lifespan: the audit store is opened (and migrated)
        return self

    def stop(self) -> None:
        if self.client is not None:
            self.client.__exit__(None, None, None)  # lifespan end: the audit store is closed
            self.client = self.app = None

    def restart(self) -> None:
        self.stop()
        self.start()
        self.restarts += 1

    @property
    def state(self):
        return self.app.state.service

    def post(self, path: str, body: dict, role: str) -> dict:
        r = self.client.post(path, json=body, headers={"X-API-Key": self.keys[role]})
        if r.status_code != 200:
            raise RuntimeError(f"POST {path} answered {r.status_code}: {r.text[:2000]}")
        return r.json()


def fit_model(X, y, path: Path, window: tuple[str, str]):
    """Fit on prepared rows and package as every model is packaged (typed metadata, monitoring
    reference). The replay sends the prepared inputs (credit age, NTH already computed), so the model
    declares no derivation: its scores are those of the figures below."""
    model = lendscore.Scorecard().fit(X, y)
    p = model.predict_proba(X)[:, 1]
    from lendscore.validation import ks_statistic, roc_auc

    package_model(
        model,
        X,
        source="Lending Club 2007-2011 (bundled), replayed",
        training_window={"start": window[0], "end": window[1]},
        n_train=int(len(y)),
        metrics={"train": {"auc": roc_auc(y, p), "ks": ks_statistic(y, p).statistic, "n": int(len(y))}},
    )
    model.save(path)
    return lendscore.load(path)


def main() -> None:
    ap = argparse.ArgumentParser(description="Lending Club monitoring replay")
    ap.add_argument("--lag", type=int, default=6, help="months until a loan's outcome arrives (simulated)")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "replay")
    ap.add_argument("--docs", type=Path, default=ROOT / "docs")
    ap.add_argument(
        "--explain",
        nargs="*",
        default=[],
        help="characteristics whose CSI shift is explained (RetrainRules.explained_shifts)",
    )
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
    fit_model(X[train], y[train], out / "v1.json", ("2007-06-01", "2009-12-31"))
    reg.register(out / "v1.json", version="v1", by="replay", why="trained on 2007-2009")
    reg.promote("v1", by="replay", why="first model")
    rules = RetrainRules(explained_shifts=list(args.explain))
    # 2. the service, in process: registry champion + challenger shadow scores, SQLite audit store
    for p in out.glob("audit.db*"):
        p.unlink()
    keys = demo_keys()
    settings = load_settings(
        write_settings(
            out / "service.toml",
            model=None,
            audit_url=f"sqlite:///{out / 'audit.db'}",
            keys=keys,
            registry_dir=str(reg_root),
            max_batch=MAX_BATCH,
            sqlite_synchronous="NORMAL",
        ),
        environ={},
    )
    clock = ReplayClock(dt.datetime(2010, 1, 1, tzinfo=dt.UTC))
    service = Service(settings, clock, keys).start()
    champion, champ_version = service.state.engine.model, service.state.engine.model_version
    assert champ_version == "v1", champ_version

    months = pd.period_range("2010-01", "2011-12", freq="M")
    pending = []  # outcomes not yet arrived
    refused_total: dict[str, int] = {}
    n_requests = {"decisions": 0, "outcomes": 0}
    monthly, retrains, shadow_rows = [], [], []
    drift_frames, csi_frames, bin_frames = [], [], []
    n_dec = 0
    sequence: dict[str, int] = {}  # decision_id -> position of the application in the data (its applicant_id)
    for m in months:
        in_month = (issue.dt.to_period("M") == m).to_numpy()
        apps = X[in_month]
        month_start = m.to_timestamp().tz_localize("UTC")
        month_end = (m + 1).to_timestamp().tz_localize("UTC") - pd.Timedelta(seconds=1)
        # applications arrive through the month; each day's are sent as batches (<= MAX_BATCH each),
        # the service's clock set to the batch's time so created_at falls inside the replayed month
        arrival = (month_start + pd.to_timedelta(rng.uniform(0, m.days_in_month * 86400, len(apps)), unit="s")).floor(
            "s"
        )
        bodies = [application_body(r, f"lc-{n_dec + i:06d}") for i, r in enumerate(apps.to_dict(orient="records"))]
        n_dec += len(apps)
        order = np.argsort(arrival.to_numpy(), kind="stable")
        day = arrival.floor("D").to_numpy()[order]
        ids, sent_at = [None] * len(apps), [None] * len(apps)
        for d in pd.unique(day):
            todays = order[day == d]
            for k in range(0, len(todays), MAX_BATCH):
                part = todays[k : k + MAX_BATCH]
                clock.now = arrival[part].max().to_pydatetime()
                answer = service.post("/v1/decisions/batch", {"applications": [bodies[i] for i in part]}, "scorer")
                n_requests["decisions"] += 1
                for i, dec in zip(part, answer["decisions"], strict=True):
                    ids[i], sent_at[i] = dec["decision_id"], clock.now
                    sequence[dec["decision_id"]] = int(dec["applicant_id"].removeprefix("lc-"))
        # read back from the audit store, as `lendscore monitor` reads it: all decisions, and this month's
        store = service.state.store
        decisions_all = read_decisions(settings.audit_url, model=champion, kind="audit", outcomes_table=None).frame
        in_month_rows = (
            (decisions_all["created_at"] >= month_start) & (decisions_all["created_at"] <= month_end)
        ).to_numpy()
        frame, warnings, _, _ = prepare_monitoring_frame(decisions_all[in_month_rows], champion)
        assert len(frame) == len(apps) and set(frame["model_version"]) == {champ_version}, (m, len(frame))
        shadow = store.shadow_frame()
        shadow = shadow[shadow["decision_id"].isin(frame["decision_id"])]
        if len(shadow):  # shadow scoring by the service: stored for comparison, never used to decide
            both = frame[["decision_id", "score"]].merge(
                shadow[["decision_id", "challenger_version", "score"]], on="decision_id", suffixes=("", "_challenger")
            )
            band = lambda s: np.where(s >= 555, "approve", np.where(s >= 530, "refer", "decline"))
            shadow_rows.append(
                {
                    "month": str(m),
                    "challenger": ", ".join(sorted(set(both["challenger_version"]))),
                    "n": len(both),
                    "band_differs": float(
                        np.mean(band(both["score_challenger"].to_numpy()) != band(both["score"].to_numpy()))
                    ),
                }
            )
        pending.append(
            pd.DataFrame(
                {
                    "decision_id": ids,
                    "defaulted": y[in_month].to_numpy(),
                    "outcome_date": pd.DatetimeIndex(sent_at) + pd.DateOffset(months=args.lag),
                }
            )
        )
        # outcomes that arrived this month, plus a few bad ones, through POST /v1/outcomes/batch
        waiting = pd.concat(pending, ignore_index=True)
        arrived = waiting[waiting["outcome_date"] <= month_end]
        pending = [waiting[waiting["outcome_date"] > month_end]]
        if len(arrived):
            rows = [
                {"decision_id": i, "defaulted": int(f), "outcome_date": f"{o:%Y-%m-%d}"}
                for i, f, o in zip(arrived["decision_id"], arrived["defaulted"], arrived["outcome_date"], strict=True)
            ]
            latest = decisions_all.iloc[-1]
            rows += [
                {"decision_id": "lc-unknown", "defaulted": 0, "outcome_date": f"{month_end:%Y-%m-%d}"},
                dict(rows[0]),  # the same outcome twice
                {
                    "decision_id": latest["decision_id"],
                    "defaulted": 1,  # dated before its decision
                    "outcome_date": f"{latest['created_at'] - pd.Timedelta(days=3):%Y-%m-%d}",
                },
            ]
            clock.now = month_end.to_pydatetime()
            report = service.post("/v1/outcomes/batch", {"outcomes": rows}, "admin")
            n_requests["outcomes"] += 1
            assert report["n_accepted"] == len(arrived), report["counts"]
            for k, v in report["counts"].items():
                refused_total[k] = refused_total.get(k, 0) + v
        stored = store.outcomes_frame()
        # drift of this month against the serving champion's training distribution
        d = drift(frame, champion, period="M", warnings=warnings)
        s = d.score.iloc[0]
        worst = d.worst().iloc[0]
        drift_frames.append(d.score.assign(model=champ_version))
        csi_frames.append(d.characteristics.assign(model=champ_version))
        bin_frames.append(d.bins[d.bins["characteristic"] == "score"].assign(model=champ_version))
        perf = performance_by_vintage(decisions_all, stored, as_of=month_end, maturity_months=args.lag)
        matured = perf.vintages[perf.vintages["matured"]]
        newest = matured.iloc[-1] if len(matured) else None
        alerts = collect_alerts(d, None, period=str(m))
        row = {
            "month": str(m),
            "model": champ_version,
            "n": len(frame),
            "approve": float((frame["outcome"] == "approve").mean()),
            "refer": float((frame["outcome"] == "refer").mean()),
            "score_psi": float(s["psi"]),
            "psi_flag": s["flag"],
            "psi_p": float(s["p_value"]),
            "top_csi": f"{worst['characteristic']} {worst['psi']:.2f}",
            "n_csi_significant": int((d.characteristics["flag"] == "significant").sum()),
            "n_csi": int(d.characteristics["characteristic"].nunique()),
            "input_warnings": int(len(warnings)),
            "alerts": len(alerts),
            "outcomes_stored": len(stored),
            "matured_vintage": None if newest is None else newest["vintage"],
            "auc": None if newest is None else float(newest["auc"]),
            "ks": None if newest is None else float(newest["ks"]),
            "bad_rate": None if newest is None else float(newest["bad_rate"]),
            "bad_rate_approved": None if newest is None else float(newest["bad_rate_approved"]),
            "retrain": "",
        }
        # 3. quarterly retraining on matured outcomes
        if m.month in (3, 6, 9, 12) and len(matured) >= 3:
            last3 = list(matured["vintage"].iloc[-3:])
            oot_start = pd.Period(last3[0], "M").to_timestamp()
            oot_end = pd.Period(last3[-1], "M").to_timestamp(how="end")
            known = decisions_all.merge(stored[["decision_id", "defaulted"]], on="decision_id")
            known = known[pd.to_datetime(known["created_at"]).dt.tz_convert(None) <= oot_end]
            # Scorecard.fit depends on row order: fit in application order (the applicant_id sent),
            # not in the store's created_at order, whose ties within a batch are arbitrary
            known = known.iloc[np.argsort(known["decision_id"].map(sequence).to_numpy(), kind="stable")]
            Xk = known[[INPUT_PREFIX + c for c in X.columns]].copy()
            Xk.columns = list(X.columns)
            t_known = pd.to_datetime(known["created_at"]).dt.tz_convert(None)
            X_tr = pd.concat([X[train], Xk[(t_known < oot_start).to_numpy()]], ignore_index=True)
            y_tr = pd.concat(
                [y[train], known.loc[(t_known < oot_start).to_numpy(), "defaulted"]], ignore_index=True
            ).astype(int)
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
            reg.register(
                path,
                version=version,
                by="replay",
                why=f"quarterly retrain {m}",
                metrics={"oot": decision.challenger},
                extra={"retrain": {"oot": [last3[0], last3[-1]], **decision.to_dict()}},
            )
            promoted = False
            if decision.promote:
                reg.promote(
                    version, by="replay", why="retrain rules hold: " + "; ".join(st["detail"] for st in decision.steps)
                )
                promoted = True
            # the registry changed (a new challenger, maybe a new champion): restart the service so
            # it serves the registry's champion and shadow-scores the new challenger
            service.restart()
            champion, champ_version = service.state.engine.model, service.state.engine.model_version
            assert champ_version == (version if promoted else row["model"]), champ_version
            # a challenger that is not promoted stays a candidate: shadow-scored until the next retrain
            steps = {st["step"]: st for st in decision.steps}
            retrains.append(
                {
                    "month": str(m),
                    "version": version,
                    "train_rows": len(y_tr),
                    "oot": f"{last3[0]}..{last3[-1]}",
                    "oot_rows": len(y_oot),
                    "champion_auc": (decision.champion or {}).get("auc"),
                    "challenger_auc": decision.challenger.get("auc"),
                    "calibration_gap": steps.get("calibration", {}).get("value"),
                    "max_csi": steps.get("stability", {}).get("value"),
                    "failed": [st["step"] for st in decision.steps if st["passed"] is False],
                    "promoted": promoted,
                    "stability_detail": steps.get("stability", {}).get("detail", ""),
                    "summary": decision.summary,
                    "steps": decision.steps,
                }
            )
            row["retrain"] = f"{version}: {'PROMOTED' if promoted else 'kept ' + row['model']}"
        monthly.append(row)
        print(
            f"{row['month']} n={row['n']:5d} model={row['model']} approve={row['approve']:.2f} "
            f"PSI={row['score_psi']:.3f} ({row['psi_flag']}) CSI of {row['n_csi']} top {row['top_csi']} "
            f"warnings={row['input_warnings']} "
            f"matured={row['matured_vintage']} AUC={row['auc'] if row['auc'] is None else round(row['auc'], 3)} "
            f"{row['retrain']}",
            flush=True,
        )

    decisions_all = read_decisions(settings.audit_url, model=champion, kind="audit", outcomes_table=None).frame
    stored = service.state.store.outcomes_frame()
    service.stop()
    final_perf = performance_by_vintage(decisions_all, stored, as_of="2011-12-31T23:59:59Z", maturity_months=args.lag)
    drift_all = pd.concat(drift_frames, ignore_index=True)
    csi_all = pd.concat(csi_frames, ignore_index=True)
    bins_all = pd.concat(bin_frames, ignore_index=True)
    summary = {
        "rules": rules.model_dump(),
        "lag_months": args.lag,
        "n_decisions": int(len(decisions_all)),
        "monthly": monthly,
        "retrains": retrains,
        "shadow": shadow_rows,
        "outcomes_refused": refused_total,
        "outcomes_stored": int(len(stored)),
        "requests": n_requests,
        "service_restarts": service.restarts,
        "final_vintages": final_perf.vintages.to_dict(orient="records"),
        "calibration": final_perf.calibration.astype({"group": str}).to_dict(orient="records"),
        "history": reg.history(),
        "seconds": _time.perf_counter() - t_start,
    }
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
    d_v1 = DriftResult(
        period="M",
        score=drift_all[drift_all["model"] == "v1"].drop(columns="model"),
        characteristics=csi_all[csi_all["model"] == "v1"].drop(columns="model"),
        bins=bins_all[bins_all["model"] == "v1"].drop(columns="model"),
        inputs=pd.DataFrame(columns=["missing_shift", "out_of_range_rate"]),
        reference=ReferenceNote("v1 training loans 2007-2009"),
    )
    figs = {
        "monitoring_psi.png": plot_psi_over_time(d_v1),
        "monitoring_vintage.png": plot_vintage_metrics(final_perf.vintages),
        "monitoring_calibration.png": plot_calibration(
            final_perf.calibration, title="Calibration by grade, matured vintages 2010-2011"
        ),
    }
    if len(d_v1.bins):
        figs["monitoring_score_shift.png"] = plot_score_shift(d_v1)
    targets = [out] + ([] if args.no_docs else [args.docs])
    for t in targets:
        for name, fig in figs.items():
            fig.savefig(t / name, dpi=100)
    ctx = MonitoringContext(
        title="Lending Club replay 2010-2011",
        model_info={"champion at start": "v1", "outcome lag (simulated)": args.lag},
        drift=d_v1 if len(d_v1.score) else None,
        performance=final_perf,
        retrain=[{"label": r["month"], **r} for r in summary["retrains"]],
        outcome_rejections={
            "n_received": summary["outcomes_stored"] + sum(summary["outcomes_refused"].values()),
            "n_accepted": summary["outcomes_stored"],
            "n_rejected": sum(summary["outcomes_refused"].values()),
            "counts": summary["outcomes_refused"],
        },
    )
    try:
        write_monitoring_report(ctx, out / "monitoring.html")
    except Exception as exc:  # the figures and tables above are the deliverable
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
    lines = [
        START_MARK,
        "",
        f"_Retrain rules: `{json.dumps(s['rules'])}`._",
        "",
        (
            f"_Generated by `python scripts/replay_lending_club.py` (outcome lag {s['lag_months']} "
            f"months, simulated; {s['n_decisions']:,} decisions through the service, "
            f"`POST /v1/decisions/batch` x {s['requests']['decisions']:,}; outcomes through "
            f"`POST /v1/outcomes/batch` x {s['requests']['outcomes']}; service restarted "
            f"{s['service_restarts']} times after a retrain; {s['seconds']:.0f} s)._"
        ),
        "",
        "### Month by month",
        "",
        "| month | model | n | approve | refer | score PSI | flag | chi-sq p | top CSI | significant CSIs "
        "| newest matured vintage | AUC | KS | bad rate | bad rate approved | retrain |",
        "|---|---|---:|---:|---:|---:|---|---:|---|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in s["monthly"]:
        lines.append(
            f"| {r['month']} | {r['model']} | {r['n']:,} | {r['approve']:.1%} | {r['refer']:.1%} | "
            f"{r['score_psi']:.3f} | {r['psi_flag']} | {r['psi_p']:.2g} | {r['top_csi']} | "
            f"{r['n_csi_significant']} | {r['matured_vintage'] or '–'} | {_f(r['auc'])} | {_f(r['ks'])} | "
            f"{_f(r['bad_rate'], '{:.1%}')} | {_f(r['bad_rate_approved'], '{:.1%}')} | {r['retrain'] or ''} |"
        )
    lines += [
        "",
        "### Retraining decisions",
        "",
        "| at | challenger | train rows | OOT vintages | OOT rows | champion AUC | challenger AUC | "
        "calibration gap | max CSI | failed rules | promoted |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in s["retrains"]:
        lines.append(
            f"| {r['month']} | {r['version']} | {r['train_rows']:,} | {r['oot']} | {r['oot_rows']:,} | "
            f"{_f(r['champion_auc'], '{:.4f}')} | {_f(r['challenger_auc'], '{:.4f}')} | "
            f"{_f(r['calibration_gap'], '{:.4f}')} | {_f(r['max_csi'])} | "
            f"{', '.join(r['failed']) or 'none'} | {'yes' if r['promoted'] else 'no'} |"
        )
    lines += ["", "Stability details of each retrain:", ""]
    lines += [f"- {r['month']} {r['version']}: {r['stability_detail']}" for r in s["retrains"]]
    lines += [
        "",
        "### Realised performance by vintage (read at the end of the replay, 2011-12-31)",
        "",
        "| vintage | n | approve | outcomes | bad rate | bad rate approved | mean PD | AUC | KS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for v in s["final_vintages"]:
        lines.append(
            f"| {v['vintage']} | {v['n']:,} | {v['approval_rate']:.1%} | {v['n_outcome']:,} | "
            f"{_f(v['bad_rate'], '{:.1%}')} | {_f(v['bad_rate_approved'], '{:.1%}')} | {v['mean_pd']:.1%} | "
            f"{_f(v['auc'])} | {_f(v['ks'])} |"
        )
    lines += [
        "",
        "### Calibration by grade (all matured vintages, exact binomial test)",
        "",
        "| grade | n | defaults | predicted PD | observed | p-value |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c in s["calibration"]:
        lines.append(
            f"| {c['group']} | {c['n']:,} | {c['n_event']:,} | {c['predicted_pd']:.2%} | "
            f"{c['observed_rate']:.2%} | {c['binomial_p_value']:.2g} |"
        )
    ref = s["outcomes_refused"]
    lines += [
        "",
        f"Outcome feed (`POST /v1/outcomes/batch`): {s['outcomes_stored']:,} stored; refused and counted by the service: "
        + ", ".join(f"{k} {v}" for k, v in ref.items() if v)
        + ".",
        "",
    ]
    if s["shadow"]:
        lines += [
            "Shadow scoring (the service scores the challenger beside the champion, never deciding): share of applicants "
            "whose score band would differ: "
            + ", ".join(f"{r['month']} {r['challenger']} {r['band_differs']:.1%}" for r in s["shadow"])
            + ".",
            "",
        ]
    lines.append(END_MARK)
    text = path.read_text(encoding="utf-8") if path.exists() else f"# Monitoring\n\n{START_MARK}\n{END_MARK}\n"
    if START_MARK not in text:
        text += f"\n{START_MARK}\n{END_MARK}\n"
    head, rest = text.split(START_MARK, 1)
    tail = rest.split(END_MARK, 1)[1]
    path.write_text(head + "\n".join(lines) + tail, encoding="utf-8")


if __name__ == "__main__":
    main()
