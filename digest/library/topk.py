"""Each row's best entries of a sparse matrix in CSR order, exactly and without sorting everything."""

from __future__ import annotations

import numpy as np
from scipy import sparse


def top_per_row(
    rows: np.ndarray,
    cols: np.ndarray,
    scores: np.ndarray,
    nrows: int,
    limits: np.ndarray,
    *,
    decimals: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(positions, scores) of each row's ``limits[row]`` best entries (score desc, then column asc),
    grouped by row ascending, best first. Scores must be positive. With ``decimals`` the scores are
    rounded first (so equal-looking scores tie-break by column) and returned rounded.

    Exact, and cheap however long the rows: scores are bucketed by the top bits of their float32 form
    (the exponent and 3 bits of mantissa: monotonic in the value, no logarithm needed), a histogram per
    row finds the bucket that reaches the row's limit, and only entries from one bucket below that up
    are sorted (whole buckets are kept, and the spare one absorbs rounding, so no tie is cut wrongly)."""
    if not len(scores):
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    bucket = scores.astype(np.float32).view(np.int32) >> 20
    bucket = (bucket - bucket.min()).astype(np.int64)
    nb = int(bucket.max()) + 1
    while nb * nrows > 8_000_000:
        bucket >>= 1
        nb = int(bucket.max()) + 1
    hist = np.bincount(rows.astype(np.int64) * nb + bucket, minlength=nrows * nb).reshape(nrows, nb)
    from_top = np.cumsum(hist[:, ::-1], axis=1)
    reach = np.argmax(from_top >= limits[:, None], axis=1)  # buckets from the top until the limit is reached
    threshold = nb - 2 - reach  # that bucket, and one more
    threshold[from_top[:, -1] < limits] = 0
    candidates = np.flatnonzero(bucket >= threshold[rows])
    values = scores[candidates] if decimals is None else np.round(scores[candidates], decimals)
    order = np.lexsort((cols[candidates], -values, rows[candidates]))
    ordered_rows = rows[candidates[order]]
    group = np.flatnonzero(np.concatenate(([True], ordered_rows[1:] != ordered_rows[:-1])))
    first = np.repeat(group, np.diff(np.concatenate((group, [len(order)]))))
    keep = order[(np.arange(len(order)) - first) < limits[ordered_rows]]
    return candidates[keep], values[keep]


def csr_rows(matrix: sparse.csr_matrix) -> np.ndarray:
    return np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
