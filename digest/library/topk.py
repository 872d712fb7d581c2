"""Each row's best entries of a sparse matrix in CSR order, exactly and without sorting everything."""

from __future__ import annotations

import numpy as np
from scipy import sparse

_FINEST = 16  # buckets: a float32's sign, exponent and 7 bits of mantissa at most ...
_HISTOGRAM = 2_000_000  # ... as long as (rows x buckets) stays within this many cells


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
    (the exponent and up to 7 bits of mantissa, as many as a histogram of ``_HISTOGRAM`` cells allows:
    monotonic in the value, no logarithm needed), a histogram per row finds the bucket that reaches the
    row's limit, and only entries from one bucket below that up are sorted (whole buckets are kept, and
    the spare one absorbs rounding, so no tie is cut wrongly). With ``decimals`` the candidates are
    sorted on one integer key (row, rounded score, column) rather than three keys."""
    if not len(scores):
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    bits = scores.astype(np.float32).view(np.int32)
    low = int(bits.min()) >> _FINEST
    bucket = (bits >> _FINEST) - low
    nb = int(bucket.max()) + 1
    while nb * nrows > _HISTOGRAM:
        bucket >>= 1
        nb = int(bucket.max()) + 1
    bucket = bucket.astype(np.int64)
    hist = np.bincount(rows.astype(np.int64) * nb + bucket, minlength=nrows * nb).reshape(nrows, nb)
    from_top = np.cumsum(hist[:, ::-1], axis=1)
    reach = np.argmax(from_top >= limits[:, None], axis=1)  # buckets from the top until the limit is reached
    threshold = nb - 2 - reach  # that bucket, and one more
    threshold[from_top[:, -1] < limits] = 0
    candidates = np.flatnonzero(bucket >= threshold[rows])
    values = scores[candidates] if decimals is None else np.round(scores[candidates], decimals)
    order = row_order(rows[candidates], cols[candidates], values, decimals)
    ordered_rows = rows[candidates[order]]
    group = np.flatnonzero(np.concatenate(([True], ordered_rows[1:] != ordered_rows[:-1])))
    first = np.repeat(group, np.diff(np.concatenate((group, [len(order)]))))
    keep = order[(np.arange(len(order)) - first) < limits[ordered_rows]]
    return candidates[keep], values[keep]


def row_order(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, decimals: int | None) -> np.ndarray:
    """The order by row asc, value desc, column asc (:func:`row_order_plain`'s), by one int64 sort when the
    key fits. Rounded values are whole multiples of 10**-decimals, so (row, value, column) packs exactly;
    unrounded ones pack as a monotone quantisation of the value, and only the runs whose quantised
    values are equal (near-ties, rare) are put in exact order afterwards."""
    if not len(values):
        return np.zeros(0, dtype=np.int64)
    col_bits = max(1, int(cols.max()).bit_length())
    row_bits = max(1, int(rows.max()).bit_length())
    if decimals is not None:
        scaled = np.rint(values * 10.0**decimals).astype(np.int64)
        top = int(scaled.max())
        low = min(0, int(scaled.min()))
        value_bits = max(1, (top - low).bit_length())
        if col_bits + value_bits + row_bits <= 62:
            key = (rows.astype(np.int64) << (value_bits + col_bits)) | ((top - scaled) << col_bits) | cols
            return np.argsort(key, kind="stable")
        return row_order_plain(rows, cols, values)
    value_bits = 62 - col_bits - row_bits
    peak = float(values.max())
    if value_bits < 16 or not peak > 0 or float(values.min()) < 0:
        return row_order_plain(rows, cols, values)
    most = (1 << value_bits) - 1
    quantised = np.minimum(np.floor(values * (most / peak)).astype(np.int64), most)  # monotone in the value
    key = (rows.astype(np.int64) << (value_bits + col_bits)) | ((most - quantised) << col_bits) | cols
    order = np.argsort(key, kind="stable")
    coarse = key[order] >> col_bits  # (row, quantised value): equal for neighbours in a near-tie
    tied = coarse[1:] == coarse[:-1]
    ordered = values[order]
    # Equal values are in column order already; only runs of equal coarse keys holding different
    # values (a near-tie) are put in exact order.
    if (tied & (ordered[1:] != ordered[:-1])).any():
        run = np.cumsum(np.concatenate(([True], ~tied)))  # one id per run of equal coarse keys
        mixed = np.unique(run[1:][tied & (ordered[1:] != ordered[:-1])])
        places = np.flatnonzero(np.isin(run, mixed, assume_unique=False))
        sub = order[places]
        order[places] = sub[np.lexsort((cols[sub], -values[sub], run[places]))]
    return order


def row_order_plain(rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The plain reference of :func:`row_order`: row asc, value desc, column asc (a stable three-key sort)."""
    return np.lexsort((cols, -values, rows))


def csr_rows(matrix: sparse.csr_matrix) -> np.ndarray:
    return np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
