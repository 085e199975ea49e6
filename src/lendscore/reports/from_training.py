"""Build the validation report's context from a :class:`lendscore.training.TrainingResult`."""

from __future__ import annotations

from pathlib import Path

from lendscore._version import __version__
from lendscore.reports.html import ReportContext, SplitResult, write_report

__all__ = ["training_report_context", "write_training_report"]


def training_report_context(result, title: str | None = None) -> ReportContext:
    m = result.model
    meta = result.metadata
    splits = {
        name: SplitResult(
            y=y,
            pd=d["pd"].to_numpy(),
            score=d["score"].to_numpy(),
            grade=d["grade"].to_numpy(),
            metrics=result.metrics[name],
        )
        for name, (y, d) in result.samples.items()
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
        "parameters": {k: v for k, v in m.get_params().items()},
        "fit seconds": round(result.metrics["fit_seconds"], 3),
    }
    notes = list(result.notes) + [
        "WoE = ln(share of non-defaults / share of defaults): positive WoE is safer than average.",
        "Points add up to the score; PD = 1 / (1 + exp((score - offset) / factor)).",
    ]
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
    )


def write_training_report(result, path: str | Path, title: str | None = None) -> Path:
    return write_report(training_report_context(result, title), path)
