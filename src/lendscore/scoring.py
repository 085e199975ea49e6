"""Bulk scoring of files in bounded memory (CSV, CSV.gz, Parquet in; CSV or Parquet out)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

import pandas as pd

from lendscore.data import count_rows, iter_batches
from lendscore.errors import DataError

__all__ = ["score_file", "inputs_for_model"]


def inputs_for_model(model, frame: pd.DataFrame) -> pd.DataFrame:
    """Raw applicant rows -> the model's input columns, derived as in training.

    A model trained through a dataset profile (``metadata_["profile"]``) may use features the
    profile derives (Lending Club: ``credit_age_months`` from ``earliest_cr_line`` and the
    application date, ``nth`` and ``nth_ratio`` from income, debt-to-income and the instalment).
    When those columns are absent, the same derivation runs here, so a file of raw applications
    scores exactly as the training rows did.
    """
    from lendscore.data import PROFILES

    name = (getattr(model, "metadata_", None) or {}).get("profile")
    needed = set(model.selected_features_) | {c for r in model.rules_ for c in (r.feature_a, r.feature_b)}
    if not needed - set(map(str, frame.columns)) or name not in PROFILES or PROFILES[name].derive is None:
        return frame
    prof = PROFILES[name]
    out = frame.copy()
    for col in prof.date_columns:
        if col in out.columns and not pd.api.types.is_datetime64_any_dtype(out[col]):
            parsed = pd.to_datetime(out[col], errors="coerce", format="mixed")
            bad = parsed.isna() & out[col].notna()
            if bad.any():
                row = int(bad.to_numpy().nonzero()[0][0])
                raise DataError(f"{col} must be a date; got {out[col].iloc[row]!r} in {int(bad.sum())} rows "
                                f"(first: row {row})", column=col)
            out[col] = parsed
    return prof.derive(out, prof)


def _batches(input: str | Path, batch_size: int):
    """(pandas chunk, the same rows as an Arrow table or None) for each batch of the input."""
    if str(input).lower().endswith((".parquet", ".pq")):
        import pyarrow as pa
        import pyarrow.parquet as pq

        from lendscore.data.io import _normalise

        for batch in pq.ParquetFile(input).iter_batches(batch_size=batch_size):
            yield _normalise(batch.to_pandas()), pa.Table.from_batches([batch])
    else:
        for chunk in iter_batches(input, batch_size=batch_size):
            yield chunk, None


def score_file(model, input: str | Path, output: str | Path, *, batch_size: int = 100_000,
               with_points: bool = True, prefix: str | None = None,
               on_total: Callable[[int], None] = lambda n: None,
               on_batch: Callable[[int], None] = lambda n: None,
               on_note: Callable[[str], None] = lambda msg: None) -> int:
    """Score ``input`` chunk by chunk into ``output`` (written to a temporary file, then renamed).

    The added columns are ``pd``, ``score``, ``grade`` and ``points_<characteristic>``; when the
    input already has a column of one of those names (Lending Club has its own ``grade``), every
    added column is prefixed with ``lendscore_`` (or ``prefix`` when given) and ``on_note`` says so.
    Parquet to Parquet keeps the input columns in Arrow (never round-tripped through pandas), so
    memory stays bounded by a batch whatever the file size.
    """
    output = Path(output)
    name = output.name.lower()
    if not name.endswith((".csv", ".csv.gz", ".parquet")):
        raise DataError("output must end in .csv, .csv.gz or .parquet", source=str(output))
    total = count_rows(input)
    if total is not None:
        on_total(total)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=".score-", suffix=output.suffix)
    os.close(fd)
    n = 0
    writer = None
    try:
        for k, (chunk, arrow) in enumerate(_batches(input, batch_size)):
            details = model.score_details(inputs_for_model(model, chunk))
            if not with_points:
                details = details[["pd", "score", "grade"]]
            if prefix is None:
                clash = sorted(set(details.columns) & set(map(str, chunk.columns)))
                prefix = "lendscore_" if clash else ""
                if clash:
                    on_note(f"input already has {clash}: added columns are prefixed with {prefix!r}")
            if prefix:
                details = details.add_prefix(prefix)
            if name.endswith(".parquet"):
                import pyarrow as pa
                import pyarrow.parquet as pq

                if arrow is None:
                    arrow = pa.Table.from_pandas(chunk, preserve_index=False)
                table = arrow
                for col in details.columns:
                    values = details[col].to_numpy()
                    table = table.append_column(col, pa.array(values.astype(str) if values.dtype == object else values))
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table.cast(writer.schema))
            else:
                out = pd.concat([chunk, details.set_axis(chunk.index)], axis=1)
                out.to_csv(tmp, mode="w" if k == 0 else "a", header=k == 0, index=False,
                           compression="gzip" if name.endswith(".gz") else None)
            n += len(chunk)
            on_batch(len(chunk))
        if writer is not None:
            writer.close()
            writer = None
        os.replace(tmp, output)
    finally:
        if writer is not None:
            writer.close()
        if os.path.exists(tmp):
            os.unlink(tmp)
    return n
