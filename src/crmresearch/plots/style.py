"""Shared look of all figures: sizes, colours, titles with units. Non-interactive backend."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)  # headless by default; Jupyter's inline backend still wins
import matplotlib.pyplot as plt  # noqa: E402

# Ordered-tier palette (best tier first) and a neutral palette for groups.
TIER_COLORS = ["#1b4f72", "#2874a6", "#5dade2", "#a9cce3", "#d6eaf8", "#f2f3f4", "#d5d8dc", "#aab7b8"]
GROUP_COLORS = {"neglected_core": "#c0392b", "served_core": "#1f618d", "over_served": "#d68910",
                "other": "#7f8c8d"}  # fmt: skip

__all__ = ["new_figure", "TIER_COLORS", "GROUP_COLORS"]


def new_figure(width: float = 7.0, height: float = 4.2, **kwargs):
    """A figure sized for an A4 report column, with constrained layout."""
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained", **kwargs)
    return fig, ax
