"""Retraining: fit a challenger on a new window, compare it with the champion out of time, decide.

The challenger is promoted only when every rule of :class:`RetrainRules` holds on the same
out-of-time (OOT) sample for both models:

1. ``oot_sample``: the OOT sample has at least ``min_oot_rows`` rows and ``min_oot_events`` defaults;
2. ``auc``: challenger AUC >= champion AUC - ``max_auc_drop``;
3. ``calibration``: |observed default rate - mean challenger PD| <= ``calibration_tolerance`` on the
   OOT sample (and, when ``max_flagged_grades`` is set, at most that many grades fail the exact
   binomial test at ``alpha``);
4. ``stability``: no challenger characteristic has a CSI (OOT against its training distribution)
   >= ``max_csi`` unless it is listed in ``explained_shifts``.

Every step is recorded with its numbers (:attr:`RetrainDecision.steps`), logged on the
``lendscore.monitoring`` logger, written into the challenger's file (``metadata.retrain``) and, with a
registry, stored in the candidate's entry and in the history of the promotion.

The challenger is fitted on validated loans (:func:`lendscore.training.load_training_data`, what
``lendscore train`` reads) with their profile as its declared inputs, and packaged by
:func:`lendscore.training.package_model`: the same file as a trained model, derivation included, so
it can be promoted and served. The file is reloaded before comparison, so a model that does not load
is never compared nor promoted, and the requested path is written only once everything succeeded.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from lendscore.errors import ConfigError, DataError, SchemaError
from lendscore.monitoring.drift import bin_codes, psi_rows, reference_from_model
from lendscore.validation import calibration_by_group, ks_statistic, roc_auc

__all__ = ["RetrainRules", "RetrainDecision", "RetrainResult", "compare_models", "retrain"]

log = logging.getLogger("lendscore.monitoring")


class RetrainRules(BaseModel):
    """When a challenger may replace the champion (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    max_auc_drop: float = Field(0.01, ge=0.0, le=1.0, description="allowed AUC loss against the champion")
    calibration_tolerance: float = Field(
        0.02, gt=0.0, le=1.0, description="max |observed default rate - mean PD| on OOT"
    )
    max_flagged_grades: int | None = Field(None, ge=0, description="max grades failing the binomial test")
    alpha: float = Field(0.05, gt=0.0, lt=1.0)
    max_csi: float = Field(0.25, gt=0.0, description="CSI at or above which a shift must be explained")
    explained_shifts: list[str] = Field(default_factory=list)
    min_oot_rows: int = Field(500, ge=1)
    min_oot_events: int = Field(30, ge=1)


@dataclass
class RetrainDecision:
    """Outcome of the comparison: ``promote`` and the steps, each ``{step, passed, value, limit, detail}``."""

    promote: bool
    steps: list[dict[str, Any]]
    champion: dict[str, Any] | None
    challenger: dict[str, Any]
    csi: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def summary(self) -> str:
        failed = [s["step"] for s in self.steps if s["passed"] is False]
        return "promote: every rule holds" if self.promote else f"keep the champion: failed {', '.join(failed)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "promote": self.promote,
            "summary": self.summary,
            "steps": self.steps,
            "champion": self.champion,
            "challenger": self.challenger,
            "csi": self.csi.to_dict(orient="records"),
        }


@dataclass
class RetrainResult:
    """What :func:`retrain` did: the challenger file, its version, the decision and whether it was promoted."""

    model_path: Path
    version: str | None
    decision: RetrainDecision
    promoted: bool
    train_window: tuple[str, str]
    oot_window: tuple[str, str]
    n_train: int
    n_oot: int

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["model_path"] = str(self.model_path)
        d["decision"] = self.decision.to_dict()
        return d


def _metrics(model, X, y) -> dict[str, Any]:
    det = model.score_details(X)
    p = det["pd"].to_numpy(dtype=float)
    y = np.asarray(y, dtype=np.int8)
    return {
        "auc": roc_auc(y, p),
        "ks": ks_statistic(y, p).statistic,
        "mean_pd": float(p.mean()),
        "observed_rate": float(y.mean()),
        "n": int(y.size),
        "n_event": int(y.sum()),
        "_pd": p,
        "_grade": det["grade"].to_numpy(),
    }


def _step(steps, name, passed, value, limit, detail) -> None:
    steps.append({"step": name, "passed": passed, "value": value, "limit": limit, "detail": detail})
    log.info(
        "retrain step %s: %s (%s)",
        name,
        "pass" if passed else ("fail" if passed is False else "skipped"),
        detail,
        extra={"event": "retrain_step", "step": name, "passed": passed, "value": value, "limit": limit},
    )


def compare_models(
    champion,
    challenger,
    X_oot: pd.DataFrame,
    y_oot,
    rules: RetrainRules | None = None,
) -> RetrainDecision:
    """Apply the rules to ``challenger`` against ``champion`` (None: no champion) on one OOT sample."""
    rules = rules or RetrainRules()
    y = np.asarray(y_oot)
    steps: list[dict[str, Any]] = []
    n, n_event = int(y.size), int(np.sum(y))
    ok = n >= rules.min_oot_rows and n_event >= rules.min_oot_events and n_event < n
    _step(
        steps,
        "oot_sample",
        ok,
        {"n": n, "n_event": n_event},
        {"min_oot_rows": rules.min_oot_rows, "min_oot_events": rules.min_oot_events},
        f"{n} OOT rows with {n_event} defaults",
    )
    if not ok:
        return RetrainDecision(False, steps, None, {})
    ch = _metrics(challenger, X_oot, y)
    try:
        cm = _metrics(champion, X_oot, y) if champion is not None else None
    except SchemaError as exc:
        raise DataError(
            f"the champion cannot score the out-of-time sample ({exc}): the challenger must be "
            "compared on data that carries the champion's inputs"
        ) from exc
    if cm is None:
        _step(steps, "auc", None, ch["auc"], None, f"no champion: challenger AUC {ch['auc']:.4f}, comparison skipped")
    else:
        diff = ch["auc"] - cm["auc"]
        _step(
            steps,
            "auc",
            bool(diff >= -rules.max_auc_drop),
            diff,
            -rules.max_auc_drop,
            f"challenger AUC {ch['auc']:.4f} vs champion {cm['auc']:.4f} (difference {diff:+.4f}, "
            f"allowed drop {rules.max_auc_drop})",
        )
    gap = abs(ch["observed_rate"] - ch["mean_pd"])
    cal_ok = gap <= rules.calibration_tolerance
    detail = (
        f"observed default rate {ch['observed_rate']:.4f} vs mean PD {ch['mean_pd']:.4f} "
        f"(gap {gap:.4f}, tolerance {rules.calibration_tolerance})"
    )
    if rules.max_flagged_grades is not None:
        table = calibration_by_group(y, ch["_pd"], ch["_grade"], alpha=rules.alpha)
        flagged = table.loc[table["flag"], "group"].astype(str).tolist()
        cal_ok = cal_ok and len(flagged) <= rules.max_flagged_grades
        detail += f"; grades failing the binomial test at {rules.alpha}: {flagged or 'none'}"
    _step(steps, "calibration", bool(cal_ok), gap, rules.calibration_tolerance, detail)
    ref = reference_from_model(challenger)
    rows = []
    for c in challenger.selected_features_:
        if c not in X_oot.columns or c not in ref.characteristics:
            continue
        b = challenger.binnings_[c]
        counts = np.bincount(bin_codes(b, X_oot[c]), minlength=b.n_bins).astype(float)
        r = psi_rows(np.asarray(ref.characteristics[c]), counts[None, :])
        rows.append(
            {
                "characteristic": c,
                "csi": float(r["psi"][0]),
                "p_value": float(r["p_value"][0]),
                "explained": c in rules.explained_shifts,
            }
        )
    csi = pd.DataFrame(rows, columns=["characteristic", "csi", "p_value", "explained"])
    over = csi[csi["csi"] >= rules.max_csi]
    unexplained = over.loc[~over["explained"], "characteristic"].tolist()
    worst = float(csi["csi"].max()) if len(csi) else float("nan")
    _step(
        steps,
        "stability",
        not unexplained,
        worst,
        rules.max_csi,
        f"highest CSI {worst:.3f}; at or above {rules.max_csi}: {over['characteristic'].tolist() or 'none'}"
        + (f"; unexplained: {unexplained}" if unexplained else ""),
    )
    promote = all(s["passed"] is not False for s in steps)
    return RetrainDecision(promote, steps, None if cm is None else _public(cm), _public(ch), csi)


def _public(metrics: dict[str, Any]) -> dict[str, Any]:
    """The metrics a decision reports: without the per-row arrays (``_pd``, ``_grade``)."""
    return {k: v for k, v in metrics.items() if not k.startswith("_")}


def _window(time: pd.Series, window: tuple[str, str], name: str) -> np.ndarray:
    try:
        lo, hi = pd.Timestamp(window[0]), pd.Timestamp(window[1])
    except (ValueError, TypeError, IndexError) as exc:
        raise ConfigError(f"{name} must be (start, end) dates; got {window!r}") from exc
    if hi < lo:
        raise ConfigError(f"{name} must end after it starts; got {window!r}")
    t = pd.to_datetime(time)
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    return ((t >= lo) & (t <= hi)).to_numpy()


def _evaluate(model, X, y) -> dict[str, Any]:
    from lendscore.validation import evaluate

    return evaluate(np.asarray(y), model.predict_proba(X)[:, 1], model.threshold_)


def retrain(
    X: pd.DataFrame,
    y,
    time,
    *,
    train_window: tuple[str, str],
    oot_window: tuple[str, str],
    model_path,
    inputs=None,
    champion=None,
    registry=None,
    rules: RetrainRules | None = None,
    params: dict[str, Any] | None = None,
    version: str | None = None,
    by: str | None = None,
    source: str | None = None,
    profile: str | None = None,
    target: str | None = None,
) -> RetrainResult:
    """Fit a challenger on ``train_window``, compare it with the champion on ``oot_window``, decide.

    ``X``, ``y``, ``time`` are validated loans as :func:`lendscore.training.load_training_data`
    returns them (``lendscore train`` reads the same); ``inputs`` is their profile or an
    :class:`~lendscore.data.derivation.InputSpec`, written into the challenger so that it derives
    raw applicants itself, as a trained model does. ``champion`` is a fitted model or a model path;
    with a ``registry`` and no ``champion``, the registry's champion is used.

    The challenger is packaged like a trained model (:func:`lendscore.training.package_model`:
    typed metadata with its training and out-of-time windows, metrics and the monitoring
    reference), written to a temporary file beside ``model_path`` and **reloaded**: the reloaded
    model is what is compared, registered as a candidate when a registry is given, and promoted
    only when :func:`compare_models` says so. Its file then also records the comparison
    (``metadata.retrain``). ``model_path`` is written last: when anything fails, it is untouched.
    """
    import lendscore
    from lendscore.training import package_model

    rules = rules or RetrainRules()
    y = pd.Series(np.asarray(y), index=X.index)
    time = pd.Series(pd.to_datetime(pd.Series(time).to_numpy()), index=X.index)
    tr = _window(time, train_window, "train_window")
    oot = _window(time, oot_window, "oot_window")
    if (tr & oot).any() or not (pd.Timestamp(oot_window[0]) > pd.Timestamp(train_window[1])):
        raise ConfigError(f"oot_window {oot_window} must start after train_window {train_window} ends")
    if tr.sum() == 0 or oot.sum() == 0:
        raise DataError(
            f"no rows in train_window {train_window} ({int(tr.sum())}) or oot_window {oot_window} ({int(oot.sum())})"
        )
    train_w = {"start": str(train_window[0]), "end": str(train_window[1])}
    oot_w = {"start": str(oot_window[0]), "end": str(oot_window[1])}
    log.info(
        "retrain: fitting challenger on %s..%s (%d rows)",
        *train_window,
        int(tr.sum()),
        extra={"event": "retrain_fit", "n_train": int(tr.sum())},
    )
    X_tr, y_tr = X[tr], y[tr]
    model = lendscore.Scorecard(**(params or {})).fit(X_tr, y_tr, inputs=inputs)
    train_metrics = _evaluate(model, X_tr, y_tr)
    package_model(
        model,
        X_tr,
        source=source,
        profile=profile,
        target=target,
        split=f"retrain: train {train_w['start']}..{train_w['end']}, out of time {oot_w['start']}..{oot_w['end']}",
        training_window=train_w,
        test_window=oot_w,
        n_train=int(tr.sum()),
        n_test=int(oot.sum()),
        metrics={"train": train_metrics},
    )
    final = Path(model_path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        model.save(tmp)
        challenger = lendscore.load(tmp)  # what will be served is what is compared
        if champion is None and registry is not None:
            try:
                _, champ_path = registry.champion()
                champion = lendscore.load(champ_path)
            except lendscore.ModelError:
                champion = None
        elif isinstance(champion, (str, Path)):
            champion = lendscore.load(champion)
        decision = compare_models(champion, challenger, X[oot], y[oot], rules)
        metrics = {"train": train_metrics}
        y_oot = y[oot].to_numpy()
        if 0 < int(y_oot.sum()) < y_oot.size:
            metrics["oot"] = _evaluate(challenger, X[oot], y_oot)
        challenger.save(
            tmp, metrics=metrics, retrain={"oot_window": oot_w, "rules": rules.model_dump(), **decision.to_dict()}
        )
        lendscore.load(tmp)  # the file that will be registered and served loads
        registered, promoted = None, False
        if registry is not None:
            entry = registry.register(
                tmp,
                source=str(final),
                version=version,
                by=by,
                why="retrain challenger",
                training_window=train_w,
                metrics=metrics,
                extra={
                    "retrain": {
                        "oot_window": [oot_w["start"], oot_w["end"]],
                        "rules": rules.model_dump(),
                        **decision.to_dict(),
                    }
                },
            )
            registered = entry["version"]
            if decision.promote:
                registry.promote(registered, by=by, why="retrain: " + "; ".join(s["detail"] for s in decision.steps))
                promoted = True
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    log.info(
        "retrain decision: %s",
        decision.summary,
        extra={"event": "retrain_decision", "promote": decision.promote, "version": registered},
    )
    return RetrainResult(
        model_path=final,
        version=registered,
        decision=decision,
        promoted=promoted,
        train_window=(str(train_window[0]), str(train_window[1])),
        oot_window=(str(oot_window[0]), str(oot_window[1])),
        n_train=int(tr.sum()),
        n_oot=int(oot.sum()),
    )
