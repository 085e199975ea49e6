"""Build the validation report's context from a :class:`lendscore.training.TrainingResult`.

:func:`write_training_report` writes ``report.html`` and, beside it, ``report.json`` (the same
validation pack as numbers); ``lendscore train`` and ``lendscore demo`` call it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lendscore._version import __version__
from lendscore.errors import ConfigError
from lendscore.monitoring.drift import bin_codes, reference_from_model
from lendscore.reports.context import (
    BIN_COUNT_COLUMNS,
    ComparedModel,
    ReportContext,
    RoundingCheck,
    Segment,
    SplitResult,
)
from lendscore.reports.html import write_report

__all__ = ["training_report_context", "write_training_report"]

#: Loss given default assumed by the cut-off table (the `lendscore cutoff` default).
DEFAULT_LGD = 0.6


def _bin_index(model, X: pd.DataFrame) -> dict[str, np.ndarray]:
    """Bin of every row in every binned input the model scores with (derived inputs filled in)."""
    derived = model.derive(X)
    return {c: bin_codes(model.binnings_[c], derived[c]) for c in model.table_.inputs}


def _bin_counts(model, indices: dict[str, tuple[dict[str, np.ndarray], np.ndarray]]) -> pd.DataFrame:
    frames = []
    for c in model.selected_features_:
        n_bins = model.binnings_[c].n_bins
        for sample, (index, y) in indices.items():
            n = np.bincount(index[c], minlength=n_bins)
            n_event = np.bincount(index[c], weights=y, minlength=n_bins).round().astype(np.int64)
            frames.append(
                pd.DataFrame(
                    {
                        "characteristic": c,
                        "bin": np.arange(n_bins),
                        "sample": sample,
                        "n_event": n_event,
                        "n_nonevent": n - n_event,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)[BIN_COUNT_COLUMNS]


def _woe_design(model, index: dict[str, np.ndarray]) -> pd.DataFrame:
    """The scoring WoE of every selected characteristic and the 0/1 column of every rule."""
    cols = {c: model.binnings_[c].transform_index(index[c]) for c in model.selected_features_}
    for r in model.rules_:
        nb_a, nb_b = model.binnings_[r.feature_a].n_bins, model.binnings_[r.feature_b].n_bins
        cols[r.name] = r.mask(index[r.feature_a], index[r.feature_b], nb_a, nb_b).astype(float)
    return pd.DataFrame(cols)


def _exposure(X: pd.DataFrame | None, column: str | None) -> np.ndarray | None:
    if X is None or column is None or column not in X.columns:
        return None
    values = pd.to_numeric(X[column], errors="raise").to_numpy(dtype=float, na_value=np.nan)
    return None if np.isnan(values).any() or (values < 0).any() else values


def _compared(result, label: str, sample: str) -> ComparedModel:
    from lendscore.reports.comparison import top_score_reasons

    return ComparedModel(
        label=label,
        metrics=result.metrics[sample],
        n_characteristics=len(result.model.characteristics_),
        top_reasons=top_score_reasons(result),
    )


def rounding_check(result, sample: str = "test") -> RoundingCheck | None:
    """PD and grade of the ``sample`` rows with the model's rounded points and with the same fitted
    state unrounded (the table :func:`~lendscore.model.table.scoring_table` builds with
    ``points_rounding=None``); None when the model does not round or the rows are not kept."""
    from scipy import special

    from lendscore.model import _points
    from lendscore.model.grades import assign_grades
    from lendscore.model.table import scoring_table

    m = result.model
    decimals = getattr(m, "points_rounding", None)
    X = {"test": result.X_test, "train": result.X_train}.get(sample)
    if decimals is None or X is None or sample not in result.samples:
        return None
    exact = scoring_table(
        m.binnings_, m.selected_features_, m.rules_, m.coef_, m.intercept_, m.scaling_, m.grades_, None, None
    )
    index = m._index_derived(m.derive(X))
    pd_exact = special.expit(_points.logit(exact, index))
    details = result.samples[sample][1]
    return RoundingCheck(
        decimals=int(decimals),
        sample=sample,
        pd_rounded=details["pd"].to_numpy(dtype=float),
        pd_unrounded=pd_exact,
        grade_rounded=details["grade"].to_numpy(),
        grade_unrounded=assign_grades(pd_exact, list(m.grades_)),
    )


def segment_of(result, column: str, sample: str = "test") -> Segment:
    """The segment column's values on the ``sample`` rows, read from the rows as read (it need not
    be a model input); a column that does not exist or has a single value there is refused by name."""
    from lendscore.training import check_segment_column

    X = {"test": result.X_test, "train": result.X_train}.get(sample)
    if X is None:
        raise ConfigError(f"the {sample} rows are not kept: no segments")
    raw = result.raw_test if sample == "test" else None
    if raw is not None and column in raw.columns and raw.index.equals(X.index):
        frame = raw
    elif column in X.columns:
        frame = X
    else:
        columns = list(raw.columns) if raw is not None else list(X.columns)
        raise ConfigError(f"segment column {column!r} not found in the data; columns: {', '.join(map(str, columns))}")
    values = check_segment_column(frame, column)
    return Segment(column=column, sample=sample, values=values.to_numpy())


def training_report_context(
    result,
    title: str | None = None,
    *,
    compare: tuple[Any, str] | None = None,
    label: str = "this model",
    segment: str | None = None,
) -> ReportContext:
    """The report's context of a training run. ``compare`` is ``(other TrainingResult, its label)``
    (``label`` is this model's) for the side-by-side section on the test sample; ``segment`` a column
    of the data to break the test discrimination down by."""
    m = result.model
    meta = result.metadata
    X = {"train": result.X_train, "test": result.X_test}
    windows = {"train": meta.get("training_window"), "test": meta.get("test_window")}
    exposures = {name: _exposure(X.get(name), result.amount_column) for name in result.samples}
    use_exposure = all(e is not None for e in exposures.values())
    splits = {
        name: SplitResult(
            y=y,
            pd=d["pd"].to_numpy(),
            score=d["score"].to_numpy(),
            grade=d["grade"].to_numpy(),
            metrics=result.metrics[name],
            exposure=exposures[name] if use_exposure else None,
            window=windows.get(name),
        )
        for name, (y, d) in result.samples.items()
    }
    indices = {
        name: (_bin_index(m, X[name]), np.asarray(y, dtype=float))
        for name, (y, _) in result.samples.items()
        if X.get(name) is not None
    }
    info = {
        "name": "lendscore.Scorecard",
        "version": __version__,
        "data": meta.get("source"),
        "profile": meta.get("profile"),
        "split": result.split,
        "training window": meta.get("training_window"),
        "test window": meta.get("test_window"),
        "training data fingerprint": (m.data_fingerprint_ or {}).get("sha256"),
        "n features": f"{len(m.selected_features_)} characteristics + {len(m.rules_)} interaction rules",
        "form": _FORMS.get(m.get_params().get("form", "classic"), "classic"),
        "parameters": {k: v for k, v in m.get_params().items()},
        "fit seconds": round(result.metrics["fit_seconds"], 3),
    }
    notes = [
        "WoE = ln(share of non-defaults / share of defaults): positive WoE is safer than average.",
        "Points add up to the score; PD = 1 / (1 + exp((score - offset) / factor)).",
    ]
    reference = reference_from_model(m)
    return ReportContext(
        title=title or f"lendscore validation report: {meta.get('source')}",
        model_info=info,
        splits=splits,
        threshold=m.threshold_,
        threshold_rule=m.threshold_rule_,
        coef_table=m.coef_table_,
        points_table=m.points_table(),
        selection=m.selection_,
        grades=m.grades_,
        data_quality=result.data_quality.to_dict(),
        notes=notes,
        bin_counts=_bin_counts(m, indices) if "train" in indices else None,
        woe_design=_woe_design(m, indices["train"][0]) if "train" in indices else None,
        score_edges=reference.score_edges,
        scaling=(m.scaling_.offset, m.scaling_.factor),
        lgd=DEFAULT_LGD,
        exposure_label=f"{result.amount_column} (the loan amount)" if use_exposure else "1 per loan",
        data_limitations=list(result.notes),
        comparison=(
            [_compared(result, label, "test"), _compared(compare[0], compare[1], "test")]
            if compare is not None
            else None
        ),
        rounding=rounding_check(result),
        segment=segment_of(result, segment) if segment is not None else None,
    )


def write_training_report(
    result,
    path: str | Path,
    title: str | None = None,
    compare: tuple[Any, str] | None = None,
    *,
    label: str = "this model",
    segment: str | None = None,
    json_path: str | Path | None = None,
    write_json: bool = True,
) -> Path:
    """Write the validation report to ``path`` and, unless ``write_json=False``, its validation
    pack as JSON to ``json_path`` (default: beside the report, ``report.json`` for ``report.html``).
    Returns the HTML path.

    ``compare=(other_result, "its label")`` adds the two models side by side on the test sample
    (``label`` names this one); ``segment="COLUMN"`` adds AUC, Gini and KS per value of that column
    on the test sample (refused with the column named when it does not exist or has one value)."""
    html = Path(path)
    pack_path = (Path(json_path) if json_path is not None else html.with_suffix(".json")) if write_json else None
    ctx = training_report_context(result, title, compare=compare, label=label, segment=segment)
    return write_report(ctx, html, json_path=pack_path)


_FORMS = {
    "classic": "classic: one coefficient times the coarse bins' WoE per characteristic (classical p-values)",
    "penalised": "penalised: each fine bin's log-odds fitted with a fusion penalty chosen on the "
    "training rows (Akaike's criterion, or cross-validation if so set), trends as constraints; a "
    "penalised fit has no classical p-value: the coefficient table gives each characteristic's "
    "effective degrees of freedom (edf) and the training deviance lost when its points are set "
    "to its average (drop_one_deviance; the term pays its way when that exceeds 2 x edf)",
}
