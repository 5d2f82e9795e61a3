"""Validation confusion matrix (rows = true class, columns = predicted class)."""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget


class ConfusionView(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.label = QLabel(self.tr("the validation confusion matrix appears here after each epoch (classification)"))
        self.label.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.label)
        lay.addWidget(self.table, 1)
        self.matrix: np.ndarray | None = None
        self.draws = 0

    def clear(self) -> None:
        self.matrix = None
        self.table.setRowCount(0)
        self.table.setColumnCount(0)

    def set_matrix(self, cm, class_names: list[str] | None = None, epoch: int | None = None) -> None:
        cm = np.asarray(cm, dtype=np.int64)
        self.draws += 1
        k = cm.shape[0]
        names = list(class_names or [])
        names = [str(n) for n in names[:k]] + [str(i) for i in range(len(names), k)]
        if self.table.rowCount() != k:
            self.table.setRowCount(k)
            self.table.setColumnCount(k)
        self.table.setHorizontalHeaderLabels([f"→ {n}" for n in names])
        self.table.setVerticalHeaderLabels(names)
        rows = cm.sum(axis=1, keepdims=True)
        frac = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
        for i in range(k):
            for j in range(k):
                item = self.table.item(i, j)
                if item is None:
                    item = QTableWidgetItem()
                    self.table.setItem(i, j, item)
                item.setText(str(int(cm[i, j])))
                a = int(40 + 200 * frac[i, j]) if cm[i, j] else 0
                base = QColor("#2f9e6e") if i == j else QColor("#d93a3a")
                base.setAlpha(a)
                item.setBackground(QBrush(base))
                item.setToolTip(self.tr("true {true}, predicted {pred}: {n} ({pct}% of {true})").format(
                    true=names[i], pred=names[j], n=cm[i, j], pct=f"{100 * frac[i, j]:.1f}"))
        total = int(cm.sum())
        acc = float(np.trace(cm)) / total if total else 0.0
        self.matrix = cm
        if epoch is not None:
            text = self.tr("validation after epoch {epoch}: {n} samples, accuracy {acc}% "
                           "(rows: true class, columns: predicted)")
        else:
            text = self.tr("validation: {n} samples, accuracy {acc}% (rows: true class, columns: predicted)")
        self.label.setText(text.format(epoch=epoch, n=total, acc=f"{100 * acc:.1f}"))
