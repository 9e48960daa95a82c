"""The day-bitmask decoder against a plain-Python decode of the same bits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmresearch.features.daymask import _decode_chunk


def _reference(words: np.ndarray, month_of_offset: np.ndarray):
    """Per row: the set bit positions one by one, then the statistics from the list."""
    out = []
    for row in words:
        days = [64 * j + p for j, w in enumerate(row) for p in range(64) if int(w) >> p & 1]
        gaps = np.diff(days)
        out.append(
            (
                len(days),
                days[0],
                days[-1],
                len({int(month_of_offset[d]) for d in days}),
                int((gaps * gaps).sum()),
            )
        )
    return np.array(out, dtype=np.int64).T


def _months(n_words: int) -> np.ndarray:
    days = pd.date_range("2023-01-01", periods=64 * n_words, freq="D")
    return (days.year * 12 + days.month - (2023 * 12 + 1)).to_numpy().astype(np.int32)


@pytest.mark.parametrize("density", [0.002, 0.05, 0.5, 0.98])
def test_decode_matches_plain_python(density):
    rng = np.random.default_rng(7)
    n_rows, n_words = 300, 12
    bits = rng.random((n_rows, n_words * 64)) < density
    bits[np.arange(n_rows), rng.integers(0, n_words * 64, n_rows)] = True  # >= 1 bit a row
    words = np.packbits(bits, axis=1, bitorder="little").view(np.uint64)
    months = _months(n_words)
    got = [np.zeros(n_rows, dtype=np.int64) for _ in range(5)]
    _decode_chunk(words, months, *got)
    np.testing.assert_array_equal(np.array(got), _reference(words, months))


def test_decode_word_edges_and_full_words():
    # bits 0, 63 and 64 (both sides of a word boundary), a full word, the very last day
    n_words = 4
    words = np.zeros((4, n_words), dtype=np.uint64)
    words[0, 0] = np.uint64(1) | np.uint64(1 << 63)
    words[0, 1] = np.uint64(1)
    words[1, 2] = np.uint64(2**64 - 1)
    words[2, 3] = np.uint64(1 << 63)
    words[3] = np.uint64(2**64 - 1)
    months = _months(n_words)
    got = [np.zeros(4, dtype=np.int64) for _ in range(5)]
    _decode_chunk(words, months, *got)
    np.testing.assert_array_equal(np.array(got), _reference(words, months))
    assert got[0].tolist() == [3, 64, 1, 256]  # purchase days
    assert got[4][0] == 63**2 + 1  # gaps 63 and 1
