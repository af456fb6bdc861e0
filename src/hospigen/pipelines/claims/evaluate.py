"""How well the explainable rules find the injected fraud: precision, recall, ROC AUC.

The score never reads the label; this module is the only place label and score meet.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties counted half; None if one class."""
    labels = np.asarray(labels, dtype=bool)
    pos, neg = int(labels.sum()), int((~labels).sum())
    if pos == 0 or neg == 0:
        return None
    order = np.argsort(scores, kind="stable")
    s = np.asarray(scores)[order]
    ranks = np.empty(len(s))
    # average ranks over ties
    _, first, counts = np.unique(s, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def evaluate(claims: pa.Table, threshold: float = 0.5) -> list[dict]:
    """Rows of (pattern, n, positives, precision, recall, auc): overall, then per pattern.

    Per pattern, the positives are that pattern's claims and the negatives all legitimate
    claims; precision counts flagged legitimate claims as false positives.
    """
    labels = np.asarray(claims.column("synthetic_label_is_fraud").fill_null(0).to_numpy()) == 1
    scores = claims.column("fraud_risk_score").to_numpy()
    pattern = np.array(claims.column("synthetic_fraud_pattern").to_pylist(), dtype=object)
    flagged = scores > threshold
    rows = [_row("overall", labels, scores, flagged, np.ones(len(labels), bool))]
    for name in sorted({p for p in pattern if p}):
        rows.append(_row(name, pattern == name, scores, flagged, (pattern == name) | ~labels))
    return rows


def _row(name: str, positive, scores, flagged, scope) -> dict:
    pos, sc, fl = positive[scope], scores[scope], flagged[scope]
    tp = int((fl & pos).sum())
    return {
        "pattern": name,
        "claims": int(scope.sum()),
        "positives": int(pos.sum()),
        "precision": tp / int(fl.sum()) if fl.any() else None,
        "recall": tp / int(pos.sum()) if pos.any() else None,
        "auc": roc_auc(pos, sc),
    }
