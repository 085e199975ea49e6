"""The scorecard estimator: binning -> WoE -> selection -> logistic regression -> points.

``Scorecard`` follows the scikit-learn estimator contract: ``__init__`` only stores arguments,
``fit`` validates and returns self, fitted attributes end in ``_``. Everything is fitted on the
data passed to ``fit`` (the training window) only.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from scipy import special
from sklearn.base import BaseEstimator, ClassifierMixin

from lendscore.data.derivation import InputSpec, derive_frame, derive_one, input_spec_for
from lendscore.errors import ConfigError, ModelError, NotFittedError, SchemaError
from lendscore.features.binning import binning_from_counts, prebin_counts
from lendscore.features.selection import select_features
from lendscore.model import _points
from lendscore.model._data import as_frame, column_kinds, encode_target, fingerprint
from lendscore.model._fitting import Design, FitProblem, FittingMixin
from lendscore.model._penalised_fit import PenalisedMixin
from lendscore.model.counts import PatternCounts, binning_options, fold_of_rows, threshold_from_counts
from lendscore.model.grades import DEFAULT_PD_BOUNDS, master_scale
from lendscore.model.logit import LogitFit
from lendscore.model.params import PARAMETERS, validate_params
from lendscore.model.scaling import Scaling

__all__ = ["Scorecard"]


class Scorecard(PenalisedMixin, FittingMixin, ClassifierMixin, BaseEstimator):
    """Interpretable logistic-regression scorecard on binned, WoE-coded characteristics.

    Parameters
    ----------
    categorical_features : list of column names forced to be categorical (object, string,
        category and bool columns always are). A nominal column's categories are ordered by
        event rate before adjacent ones merge; an *ordered* pandas Categorical (e.g. sub-grades
        A1 < A2 < ... < G5) keeps its order, so each bin is a run of neighbouring categories and
        its trend is chosen as for a numeric column.
    special_codes : "auto" (9s-family "not applicable" codes far above the other values, e.g.
        96/98), None (no special codes), or a dict ``{column: [codes]}``.
    monotonic_trend : "auto" (best of ascending, descending, peak, valley), "auto_monotonic",
        a shape name, or a dict ``{column: shape}`` (other columns "auto").
    max_n_bins, min_bin_size, max_prebins, min_gain : binning limits. ``min_bin_size`` is a
        share (< 1) or a row count (>= 1); None means max(0.1 % of rows, 30 rows), but at most
        5 % of the rows on small samples.
    shape_penalty : log-likelihood a peak or valley shape must gain over the best monotone
        binning to be chosen under "auto" (monotone shapes are preferred unless clearly worse).
    iv_min, corr_max, vif_max : selection thresholds.
    max_rules : interaction rules at most (0 disables them); ``rule_min_support`` is the least
        share of rows a rule covers.
    C : inverse L2 penalty strength (None = unpenalised maximum likelihood).
    class_weight : None or "balanced".
    sign_check : "refit" (drop a characteristic whose coefficient contradicts its WoE and
        refit) or "warn".
    woe_cv : folds for cross-fitted WoE when fitting the regression (0 or 1: in-sample WoE).
    pdo, base_points, base_odds : points scaling (600 points at 50:1 good:bad odds, 20 pdo).
    grade_pd_bounds : upper PD bound of each risk grade (the master scale).
    threshold : "f1" (maximise F1 on the training predictions), "ks", or a PD in (0, 1).
    points_rounding : None (points as fitted) or the decimals of every bin's points (0: whole
        points, the usual scorecard convention): a score is then exactly the sum of its printed
        points, and every scoring path's PD follows that score.
    form : "classic" (coarse monotone WoE bins, one coefficient per characteristic, classical
        inference) or "penalised" (the selected characteristics re-binned finely, each bin's
        log-odds fitted with a fusion penalty on adjacent bins and the detected or declared
        monotone trend as a constraint; see :mod:`lendscore.model._penalised`).
    penalty : the penalised form's fusion penalty: "aic" (chosen on the training rows by Akaike's
        criterion, deviance + 2 x effective degrees of freedom), "cv" (by 5-fold cross-validated
        deviance: five times the fits) or a number > 0 (a multiple of the data's binomial
        information ``sum(w) p (1 - p)``).
    """

    def __init__(
        self,
        *,
        categorical_features=None,
        special_codes="auto",
        monotonic_trend="auto",
        max_n_bins=20,
        min_bin_size=None,
        max_prebins=50,
        min_gain=0.0,
        shape_penalty=20.0,
        iv_min=0.02,
        corr_max=0.95,
        vif_max=10.0,
        max_rules=10,
        rule_min_support=0.005,
        C=None,
        class_weight=None,
        sign_check="refit",
        woe_cv=5,
        pdo=20.0,
        base_points=600.0,
        base_odds=50.0,
        grade_pd_bounds=DEFAULT_PD_BOUNDS,
        threshold="f1",
        points_rounding=None,
        form="classic",
        penalty="aic",
    ):
        self.categorical_features = categorical_features
        self.special_codes = special_codes
        self.monotonic_trend = monotonic_trend
        self.max_n_bins = max_n_bins
        self.min_bin_size = min_bin_size
        self.max_prebins = max_prebins
        self.min_gain = min_gain
        self.shape_penalty = shape_penalty
        self.iv_min = iv_min
        self.corr_max = corr_max
        self.vif_max = vif_max
        self.max_rules = max_rules
        self.rule_min_support = rule_min_support
        self.C = C
        self.class_weight = class_weight
        self.sign_check = sign_check
        self.woe_cv = woe_cv
        self.pdo = pdo
        self.base_points = base_points
        self.base_odds = base_odds
        self.grade_pd_bounds = grade_pd_bounds
        self.threshold = threshold
        self.points_rounding = points_rounding
        self.form = form
        self.penalty = penalty

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags

    # ------------------------------------------------------------------ checks
    _parameter_constraints = PARAMETERS  # the one table (see lendscore.model.params)

    def _check_params(self) -> None:
        validate_params(self.get_params())

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None, *, inputs=None, prebin_splits=None):
        """Fit binning, selection, the logistic regression and the points on (X, y).

        ``inputs`` declares the applicant schema written into the model file: a
        :class:`~lendscore.data.DatasetProfile` (its derivation, raw fields and value rules, as
        :func:`~lendscore.data.prepare` applied them to ``X``) or an
        :class:`~lendscore.data.derivation.InputSpec`. Without it the model's inputs are the
        columns of ``X`` with no derivation. Every door derives raw applicants from it.
        ``prebin_splits`` (``{column: ascending edges}``) fixes numeric columns' pre-bin edges
        instead of reading them from the data (how an out-of-core fit is compared with this one).

        Once binned, the rows are summarised as :class:`~lendscore.model.counts.PatternCounts`
        (one entry per distinct fold and bins) and everything after binning is fitted from those
        counts: the same likelihood, at a cost in patterns rather than rows.
        """
        t0 = time.perf_counter()
        self._check_params()
        Xf = as_frame(X)
        if Xf.shape[0] == 0 or Xf.shape[1] == 0:
            raise ValueError(f"X must have at least one row and one column; got shape {Xf.shape}")
        self.classes_, y01 = encode_target(y)
        if len(y01) != len(Xf):
            raise ValueError(f"X and y must have the same number of rows; got {len(Xf)} and {len(y01)}")
        self.feature_names_in_ = np.asarray([str(c) for c in Xf.columns], dtype=object)
        self.n_features_in_ = Xf.shape[1]
        Xf = Xf.set_axis(list(self.feature_names_in_), axis=1)
        self.kinds_ = column_kinds(Xf, self.categorical_features)
        self.inputs_ = _input_spec(inputs, self.kinds_, Xf)
        w = self._weights(y01, sample_weight)
        weighted = not (sample_weight is None and self.class_weight is None)
        self.binnings_ = {}
        splits = prebin_splits or {}
        prebins = {}
        for c in self.feature_names_in_:  # as fit_feature_binning, keeping the pre-bin counts
            prebins[c] = prebin_counts(
                c,
                Xf[c],
                y01,
                kind=self.kinds_[c],
                special_codes=self._specials_of(c),
                max_prebins=self.max_prebins,
                sample_weight=w if weighted else None,
                prebin_splits=splits.get(c),
            )
            self.binnings_[c] = binning_from_counts(c, prebins[c], **binning_options(self, c, float(w.sum())))
        names = list(self.feature_names_in_)
        index = {c: self.binnings_[c].bin_index(Xf[c]) for c in names}
        fold = fold_of_rows(len(y01), self.woe_cv)
        patterns = PatternCounts.from_rows(index, fold, y01, w if weighted else None, compress=self._compress_rows)
        del index
        if self.form == "penalised":
            selected = self._select_on_patterns(patterns, names)[0]
            min_bin = binning_options(self, names[0], float(w.sum()))["min_bin_size"]
            b0, coef, converged, table, fine = self._fit_penalised(
                Xf, y01, w if weighted else None, prebins, selected, min_bin
            )
            self._set_model_values(list(selected), b0, coef, table, converged)
            self._set_threshold(fine)
        else:
            self._fit_patterns(patterns, names)
        self.data_fingerprint_ = fingerprint(Xf, y01)
        self.metadata_ = {}
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    # the row-level reference path (one pattern per row) is the same code with this off
    _compress_rows = True

    def fit_from_counts(self, binnings, patterns, *, inputs=None, classes=(0, 1), training_ranges=None):
        """Fit from counts instead of rows: see :func:`lendscore.model.counts.fit_from_counts`."""
        from lendscore.model.counts import fit_from_counts

        t0 = time.perf_counter()
        fit_from_counts(self, binnings, patterns, inputs=inputs, classes=classes, training_ranges=training_ranges)
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _fit_patterns(self, patterns: PatternCounts, names: list[str]) -> None:
        """Everything after binning, from the pattern counts: cross-fitted WoE, selection, the
        sign check, the rule rounds, the final fit with its covariance, points and cut-off."""
        if self.form == "penalised":  # fit_from_counts: the fine bins are read from the rows
            raise ConfigError(
                "form='penalised' needs the training rows (its fine bins are counted from them): "
                "fit it with Scorecard.fit; fitting from counts supports form='classic' only"
            )
        selected, index, y, w, fold = self._select_on_patterns(patterns, names)
        # the regression reads only the selected characteristics' bins (and folds): their patterns
        # are summed once more, and the WoE design rebuilt on that smaller table
        sub = PatternCounts({c: index[c] for c in selected}, fold, y * w, w).compressed()
        w, y, index, fold = sub.n_total, sub.n_event / sub.n_total, sub.index, sub.fold
        W = self._fit_design(index, selected, y, w, fold)
        col = {c: i for i, c in enumerate(selected)}
        design = Design(len(y), len(selected) + self.max_rules)

        def column(key):  # a characteristic's WoE column, or a rule's 0/1 indicator
            if isinstance(key, str):
                return W[:, col[key]]
            return key.mask(
                index[key.feature_a],
                index[key.feature_b],
                self.binnings_[key.feature_a].n_bins,
                self.binnings_[key.feature_b].n_bins,
            )

        problem = FitProblem(design, column, index, y, w)
        fit, selected = self._fit_with_sign_check(problem, selected)
        rules, fit = self._add_rules(problem, selected, fit)
        fit, selected, self.rules_ = self._final_fit(problem, selected, rules, fit)
        self._set_model(selected, fit)
        self._set_threshold(patterns)

    def _select_on_patterns(self, patterns: PatternCounts, names: list[str]):
        """Cross-fitted WoE and selection on the coarse bins' patterns: (selected, and the live
        patterns' index, event rate, weight and fold)."""
        live = patterns.n_total > 0  # patterns of weight zero only enter the cut-off (unweighted rows)
        w = patterns.n_total[live]
        y = patterns.n_event[live] / w
        index = {c: patterns.index[c][live] for c in names}
        fold = None if patterns.fold is None else patterns.fold[live]
        W = self._fit_design(index, names, y, w, fold)
        iv = {c: self.binnings_[c].iv for c in names}
        selected, self.selection_ = select_features(
            names, iv, W, iv_min=self.iv_min, corr_max=self.corr_max, vif_max=self.vif_max, sample_weight=w
        )
        if not selected:
            raise ModelError(
                f"no characteristic passed selection (iv_min={self.iv_min}); highest IV {max(iv.values()):.4f}"
            )
        return selected, index, y, w, fold

    def _set_threshold(self, patterns: PatternCounts) -> None:
        """The PD cut-off from the training patterns' PDs (``patterns`` index the model's bins)."""
        p_train = special.expit(self._logit_from_index({c: patterns.index[c] for c in self.table_.inputs}))
        n_event_rows, n_rows = patterns.row_counts()
        if isinstance(self.threshold, str):
            self.threshold_, self.threshold_rule_ = threshold_from_counts(p_train, n_event_rows, n_rows, self.threshold)
        else:
            self.threshold_, self.threshold_rule_ = threshold_from_counts(
                p_train, n_event_rows, n_rows, "fixed", float(self.threshold)
            )

    def _set_model(self, selected, fit: LogitFit):
        inf = fit.inference()
        table = pd.DataFrame(
            {k: inf[k] for k in ("coef", "std_err", "z", "p_value", "ci_low", "ci_high")},
            index=pd.Index(["(intercept)"] + list(selected) + [r.name for r in self.rules_], name="term"),
        )
        table["penalised"] = fit.penalised
        self._set_model_values(selected, fit.intercept, fit.coef.copy(), table, fit.converged)

    def _set_model_values(self, selected, intercept, coef, coef_table, converged):
        self.selected_features_ = list(selected)
        self.characteristics_ = list(selected) + [r.name for r in self.rules_]
        self.intercept_ = intercept
        self.coef_ = coef
        self.n_features_used_ = len(selected)
        self.scaling_ = Scaling(self.pdo, self.base_points, self.base_odds)
        self.grades_ = master_scale(self.grade_pd_bounds, self.scaling_)
        self.coef_table_ = coef_table
        self.converged_ = converged
        _points.build(self)

    # ------------------------------------------------------------------ predict
    def _raw_frame(self, X) -> pd.DataFrame:
        """``X`` as a frame with the model file's derivation applied (raw applicants welcome)."""
        return self.derive(X)

    def derive(self, X, *, decision_date=None) -> pd.DataFrame:
        """``X`` with the model inputs its file derives (NTH, credit age, ...) filled in from the raw
        fields; other columns kept. ``decision_date`` (a date, one per row, or a column name)
        dates rows without an application date (default today)."""
        _check_fitted(self)
        return derive_frame(as_frame(X, list(self.feature_names_in_)), self.inputs_, decision_date=decision_date)

    def _index(self, X) -> dict[str, np.ndarray]:
        """Bin index of every characteristic the model uses (input columns checked by name)."""
        return self._index_derived(self._raw_frame(X))

    def _index_derived(self, Xf: pd.DataFrame) -> dict[str, np.ndarray]:
        """:meth:`_index` of a frame already derived."""
        needed = self.table_.inputs
        missing = [c for c in needed if c not in Xf.columns]
        if missing:
            raise SchemaError(f"X lacks columns the model uses: {missing}")
        return {c: self.binnings_[c].bin_index(Xf[c]) for c in needed}

    def _logit_from_index(self, index: dict[str, np.ndarray]) -> np.ndarray:
        """Log-odds of default from bin indices (the scoring table's log-odds per bin)."""
        return _points.logit(self.table_, index)

    def decision_function(self, X):
        """Log-odds of default (logit of the PD)."""
        _check_fitted(self)
        return self._logit_from_index(self._index(X))

    def predict_proba(self, X):
        """(n, 2) array: column 0 = P(non-event), column 1 = PD (P of ``classes_[1]``)."""
        p = special.expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        """Class labels: ``classes_[1]`` (default) where PD >= ``threshold_``."""
        p = special.expit(self.decision_function(X))
        return self.classes_[(p >= self.threshold_).astype(int)]

    def score(self, X, y=None, sample_weight=None):
        """Points of every row (higher = safer). With ``y``, the ROC AUC (for model selection)."""
        if y is not None:
            from sklearn.metrics import roc_auc_score

            y01 = (np.asarray(y).ravel() == self.classes_[1]).astype(int)
            return float(roc_auc_score(y01, self.predict_proba(X)[:, 1], sample_weight=sample_weight))
        return self.scaling_.offset - self.scaling_.factor * self.decision_function(X)

    def score_details(self, X, *, decision_date=None, warnings: bool | str = False) -> pd.DataFrame:
        """PD, score, grade and the points of every characteristic, row by row.

        ``decision_date`` dates rows without an application date (see :meth:`derive`); with
        ``warnings=True`` a ``warnings`` column lists, per row, the values scored by a declared
        rule (as :meth:`input_warnings`), from the same single derivation; ``warnings="text"``
        gives them as one ``field:rule;...`` string per row instead (cheap on millions of rows).
        """
        Xf = self.derive(X, decision_date=decision_date)
        index = self._index_derived(Xf)
        out = _points.details(self, Xf, index)
        if warnings:
            flags = _points.warnings_frame(self, Xf, index)
            by_row = _points.warnings_text if warnings == "text" else _points.warnings_by_row
            out["warnings"] = by_row(flags, len(Xf))
        return out

    def predict_one(self, applicant: dict, *, decision_date=None) -> dict:
        """Score one applicant given as a dict of raw values: ``pd``, ``score``, ``grade``,
        ``points`` and ``warnings`` (unseen categories, values outside the training range).

        The dict holds the model's inputs and the raw fields its derivation reads (absent =
        missing), optionally ``finances``, ``loan`` and ``applicant_id``; an unknown field is
        refused by name. ``decision_date`` dates an application without an application date
        (default today).
        """
        _check_fitted(self)
        self.inputs_.check_names(list(applicant))
        app = derive_one(applicant, self.inputs_, decision_date=decision_date)
        index: dict[str, int] = {}
        out = _points.one(self, app, index)
        out["warnings"] = _points.warnings_one(self, app, index)
        return out

    def input_warnings(self, X, *, decision_date=None) -> pd.DataFrame:
        """One row per value scored by a declared rule rather than as seen in training:
        ``row`` (position), ``field``, ``rule`` (``unseen_category``: scored in the Unseen-category
        bin; ``below_training_range`` / ``above_training_range``: scored in the outermost bin)
        and ``value``."""
        return _points.warnings_frame(self, self.derive(X, decision_date=decision_date))

    def points_table(self) -> pd.DataFrame:
        """Points of every bin of every characteristic (and of every rule)."""
        _check_fitted(self)
        return self.points_table_.copy()

    def binning_table(self, feature: str) -> pd.DataFrame:
        _check_fitted(self)
        return self.binnings_[feature].table()

    def to_sql(
        self,
        table: str = "applicants",
        *,
        dialect: str = "duckdb",
        id_column: str | None = None,
        columns=None,
        decision_date=None,
    ) -> str:
        """One SELECT that derives and scores the raw rows of ``table`` (pd, score, grade, points) in
        ``dialect``: duckdb, sqlite, postgres, spark, bigquery, snowflake or tsql (needs the ``sql``
        extra: sqlglot); see :func:`lendscore.model.sql.to_sql` for ``columns`` and ``decision_date``."""
        _check_fitted(self)
        from lendscore.model.sql import to_sql

        return to_sql(self, table, dialect=dialect, id_column=id_column, columns=columns, decision_date=decision_date)

    # ------------------------------------------------------------------ persistence
    def save(self, path, **metadata) -> None:
        """Write the model as a versioned, checksummed JSON file (no pickle)."""
        _check_fitted(self)
        from lendscore.model.artifact import save_model

        save_model(self, path, **metadata)


def _check_fitted(model) -> None:
    """``NotFittedError`` (lendscore's, a scikit-learn ``NotFittedError``) before ``fit``."""
    if not hasattr(model, "coef_"):
        raise NotFittedError(
            f"this {type(model).__name__} is not fitted yet: call fit(X, y) or lendscore.load(path) first"
        )


def _input_spec(inputs, kinds: dict[str, str], X: pd.DataFrame) -> InputSpec:
    if inputs is None:
        return input_spec_for(kinds, X=X)
    if isinstance(inputs, InputSpec):
        return inputs
    if hasattr(inputs, "input_spec"):  # a DatasetProfile
        return inputs.input_spec(kinds, X=X)
    raise ConfigError(f"inputs must be a DatasetProfile or an InputSpec; got {type(inputs).__name__}")
