"""Bulk scoring of files in bounded memory (CSV, CSV.gz, Parquet in; CSV or Parquet out)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from lendscore.data import count_rows, iter_batches
from lendscore.errors import DataError

__all__ = ["OUTPUT_PREFIX", "score_file"]

OUTPUT_PREFIX = "lendscore_"
"""Prefix of every column lendscore adds to a file: an output never shadows an input (Lending Club
has an input named ``grade``)."""


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


def score_file(
    model,
    input: str | Path,
    output: str | Path,
    *,
    batch_size: int = 100_000,
    with_points: bool = True,
    prefix: str = OUTPUT_PREFIX,
    on_total: Callable[[int], None] = lambda n: None,
    on_batch: Callable[[int], None] = lambda n: None,
    on_note: Callable[[str], None] = lambda msg: None,
) -> int:
    """Score ``input`` chunk by chunk into ``output`` (written to a temporary file, then renamed).

    The added columns are ``pd``, ``score``, ``grade``, ``points_<characteristic>`` and ``warnings``
    (``field:rule`` pairs joined by ``;``, empty when none), each
    prefixed with ``lendscore_`` (or ``prefix``), so that no output shadows an input (Lending Club
    has its own ``grade``). Raw application rows are derived as the model file declares.
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
    n = n_flagged = 0
    writer = None
    try:
        for k, (chunk, arrow) in enumerate(_batches(input, batch_size)):
            # the model file's derivation runs on raw rows; values scored by a declared rule (a
            # category unseen in training, a number outside the training range) are listed per row
            details = model.score_details(chunk, warnings="text")
            text = details.pop("warnings")
            if not with_points:
                details = details[["pd", "score", "grade"]]
            n_flagged += int((text != "").sum())
            details["warnings"] = text
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
                out.to_csv(
                    tmp,
                    mode="w" if k == 0 else "a",
                    header=k == 0,
                    index=False,
                    compression="gzip" if name.endswith(".gz") else None,
                )
            n += len(chunk)
            on_batch(len(chunk))
        if writer is not None:
            writer.close()
            writer = None
        os.replace(tmp, output)
        if n_flagged:
            on_note(
                f"{n_flagged:,} rows have values scored by a declared rule (a category unseen in training, "
                f"a number outside the training range): see {prefix}warnings"
            )
    finally:
        if writer is not None:
            writer.close()
        if os.path.exists(tmp):
            os.unlink(tmp)
    return n
