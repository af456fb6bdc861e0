"""Charts as inline SVG (matplotlib, Agg backend): the report works offline, with no CDN.

Each function takes plain arrays and returns an SVG string sized for a two-column grid.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

_PALETTE = ("#2f6f9f", "#d9822b", "#3a9d5d", "#b5443b", "#7b5ea7", "#8c6d46", "#c2549d", "#6b6b6b")


def _figure(title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "hospigen"  # stable element ids: same data, same SVG
    fig, ax = plt.subplots(figsize=(6.2, 3.6), dpi=100)
    ax.set_title(title, fontsize=11, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    return plt, fig, ax


def _svg(plt, fig) -> str:
    buffer = io.StringIO()
    fig.tight_layout()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "hospigen"})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], xlabel: str = "") -> str:
    """Horizontal bars, largest at the top."""
    plt, fig, ax = _figure(title)
    order = np.argsort(values)
    ax.barh([labels[i] for i in order], [values[i] for i in order], color=_PALETTE[0])
    ax.set_xlabel(xlabel)
    return _svg(plt, fig)


def pyramid(title: str, bands: Sequence[str], female: Sequence[int], male: Sequence[int]) -> str:
    """Population pyramid: male to the left, female to the right."""
    plt, fig, ax = _figure(title)
    y = np.arange(len(bands))
    ax.barh(y, -np.asarray(male), color=_PALETTE[0], label="male")
    ax.barh(y, np.asarray(female), color=_PALETTE[1], label="female")
    ax.set_yticks(y, bands, fontsize=7)
    ticks = ax.get_xticks()
    ax.set_xticks(ticks, [f"{abs(int(t)):,}" for t in ticks])
    ax.legend(frameon=False, fontsize=8)
    return _svg(plt, fig)


def histograms(
    title: str, series: dict[str, np.ndarray], xlabel: str, bins: int = 40, band=None
) -> str:
    """Overlaid histograms (density) of several groups; ``band`` shades a reference range."""
    plt, fig, ax = _figure(title)
    values = [v for v in series.values() if len(v)]
    if values:
        edges = np.histogram_bin_edges(np.concatenate(values), bins=bins)
        for (name, data), color in zip(series.items(), _PALETTE, strict=False):
            if len(data):
                ax.hist(data, bins=edges, density=True, histtype="step", lw=1.6, color=color,
                        label=name)  # fmt: skip
    if band is not None:
        ax.axvspan(band[0], band[1], color="#999999", alpha=0.15, label="reference range")
    ax.set_xlabel(xlabel)
    ax.legend(frameon=False, fontsize=7)
    return _svg(plt, fig)


def lines(title: str, series: dict[str, tuple[np.ndarray, np.ndarray]], xlabel: str,
          ylabel: str) -> str:  # fmt: skip
    """One line per group: ``series[name] = (x, y)``."""
    plt, fig, ax = _figure(title)
    for (name, (x, y)), color in zip(series.items(), _PALETTE, strict=False):
        ax.plot(x, y, color=color, lw=1.8, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False, fontsize=7)
    return _svg(plt, fig)


def roc_curves(title: str, curves: dict[str, tuple[np.ndarray, np.ndarray, float]]) -> str:
    """ROC curves: ``curves[name] = (false positive rate, true positive rate, AUC)``."""
    plt, fig, ax = _figure(title)
    ax.plot([0, 1], [0, 1], color="#bbbbbb", lw=1, ls="--")
    for (name, (fpr, tpr, auc)), color in zip(curves.items(), _PALETTE, strict=False):
        ax.plot(fpr, tpr, color=color, lw=1.6, label=f"{name} (AUC {auc:.2f})")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    return _svg(plt, fig)


def roc(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """ROC curve and AUC of ``scores`` against boolean ``labels`` (ties handled by rank)."""
    order = np.argsort(-scores, kind="stable")
    y = labels[order].astype(bool)
    positives, negatives = y.sum(), (~y).sum()
    if positives == 0 or negatives == 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0]), float("nan")
    distinct = np.r_[np.flatnonzero(np.diff(scores[order])), len(y) - 1]
    tpr = np.r_[0, np.cumsum(y)[distinct] / positives]
    fpr = np.r_[0, np.cumsum(~y)[distinct] / negatives]
    return fpr, tpr, float(np.trapezoid(tpr, fpr))
