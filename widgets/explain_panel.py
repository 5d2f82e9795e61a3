"""The Analyze panel: the per-layer table, a layer's activations, saliency and feature importance.

A view only: the app (``app/explain_ui.py``) runs :mod:`engine.explain` on a worker and
calls :meth:`ExplainPanel.show_analysis` / :meth:`show_explanation` with the plain
results; the panel asks for work with :attr:`analyze_requested`,
:attr:`explain_requested` (the chosen options) and :attr:`cancel_requested`.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.explain.png import diverging_rgb
from engine.i18n import translate as engine_tr
from widgets.explain_views import MAX_BARS, MAX_MAPS, BarsView, ImageView, TokenStrip, display_rgb, grid_rgb, vector_rgb


def human_bytes(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _num(v: int) -> QTableWidgetItem:
    item = QTableWidgetItem(f"{int(v):,}")
    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
    item.setData(Qt.UserRole, int(v))
    return item


def _shape(shape) -> str:
    return "(" + ", ".join(["N", *map(str, shape)]) + ")"


class ExplainPanel(QWidget):
    analyze_requested = Signal()
    explain_requested = Signal(dict)
    cancel_requested = Signal()
    node_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._busy = False
        self._blocked: tuple[str | None, str | None] = (None, None)
        self.result: dict | None = None
        self.analysis: dict | None = None
        self._names: dict[str, str] = {}

        self.analyze_btn = QPushButton(self.tr("Analyze"))
        self.analyze_btn.setToolTip(self.tr("Per layer: output shape, parameters, multiply-adds and memory; "
                                            "after training also dead units, saturation and gradient problems"))
        self.analyze_btn.clicked.connect(self.analyze_requested)
        self.explain_btn = QPushButton(self.tr("Explain sample"))
        self.explain_btn.setToolTip(self.tr("Run the chosen sample through the trained model: every layer's "
                                            "output, which inputs drove the prediction, and feature importance"))
        self.explain_btn.clicked.connect(self._request_explain)
        self.cancel_btn = QPushButton(self.tr("Cancel"))
        self.cancel_btn.setVisible(False)
        self.cancel_btn.clicked.connect(self.cancel_requested)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setVisible(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)

        self.split = QComboBox()
        for key, text in (("val", self.tr("validation")), ("train", self.tr("training")), ("test", self.tr("test"))):
            self.split.addItem(text, key)
        self.split.setToolTip(self.tr("Split the sample (and the rows for feature importance) come from"))
        self.sample = QSpinBox()
        self.sample.setRange(0, 10_000_000)
        self.sample.setToolTip(self.tr("Row of that split to explain (0 is the first)"))
        self.target = QComboBox()
        self.target.setToolTip(self.tr("Class whose score is explained"))
        self.set_classes(None)
        self.method = QComboBox()
        self.method.addItem(self.tr("Integrated gradients"), "integrated_gradients")
        self.method.addItem(self.tr("Gradient × input"), "gradient_x_input")
        self.method.setToolTip(self.tr("Integrated gradients add up to the change of the score from the baseline "
                                       "to the input; gradient × input is faster and local"))
        self.baseline = QComboBox()
        self.baseline.addItem(self.tr("zeros"), "zeros")
        self.baseline.addItem(self.tr("mean sample"), "mean")
        self.baseline.addItem(self.tr("blurred image"), "blur")
        self.baseline.setToolTip(self.tr("Starting point of integrated gradients: all zeros, the average training "
                                         "sample, or a blurred copy of the image"))
        self.steps = QSpinBox()
        self.steps.setRange(1, 4096)
        self.steps.setValue(32)
        self.steps.setToolTip(self.tr("Integration steps; more steps, more exact attributions"))
        self.importance = QCheckBox(self.tr("Feature importance"))
        self.importance.setChecked(True)
        self.importance.setToolTip(self.tr("Permutation importance of each column (table data only)"))
        self.method.currentIndexChanged.connect(self._method_changed)

        top = QHBoxLayout()
        for w in (self.analyze_btn, self.explain_btn, self.cancel_btn, self.progress):
            top.addWidget(w)
        top.addWidget(self.status, 1)
        opts = QVBoxLayout()   # two rows, so that the dock fits narrow windows
        for group in (((self.tr("Sample"), self.split), (None, self.sample), (self.tr("Class"), self.target)),
                      ((self.tr("Method"), self.method), (self.tr("Baseline"), self.baseline),
                       (self.tr("Steps"), self.steps), (None, self.importance))):
            line = QHBoxLayout()
            for label, w in group:
                if label:
                    line.addWidget(QLabel(label))
                line.addWidget(w)
            line.addStretch(1)
            opts.addLayout(line)

        # ---- analysis table
        self.table = QTableWidget(0, 8)
        self.table.setHorizontalHeaderLabels([self.tr("layer"), self.tr("type"), self.tr("output shape"),
                                              self.tr("parameters"), self.tr("trainable"), self.tr("multiply-adds"),
                                              self.tr("activation memory"), self.tr("warnings")])
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        self.table.verticalHeader().setVisible(False)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeToContents)
        head.setSectionResizeMode(7, QHeaderView.Stretch)
        self.table.itemSelectionChanged.connect(self._table_selected)
        self.totals = QLabel()
        self.totals.setWordWrap(True)
        page_table = QWidget()
        lt = QVBoxLayout(page_table)
        lt.setContentsMargins(0, 0, 0, 0)
        lt.addWidget(self.table, 1)
        lt.addWidget(self.totals)

        # ---- activations
        self.node = QComboBox()
        self.node.setToolTip(self.tr("Layer whose output is shown (or click a layer on the canvas)"))
        self.node.currentIndexChanged.connect(self._node_changed)
        self.act_info = QLabel()
        self.act_info.setWordWrap(True)
        self.act_image = ImageView()
        self.act_bars = BarsView()
        bars_scroll = QScrollArea()
        bars_scroll.setWidgetResizable(True)
        bars_scroll.setWidget(self.act_bars)
        self.act_stack = QStackedWidget()
        self.act_stack.addWidget(self.act_image)
        self.act_stack.addWidget(bars_scroll)
        self.act_extra_info = QLabel()
        self.act_extra = ImageView()
        page_act = QWidget()
        la = QVBoxLayout(page_act)
        la.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel(self.tr("Layer")))
        row.addWidget(self.node, 1)
        la.addLayout(row)
        la.addWidget(self.act_info)
        body = QHBoxLayout()
        body.addWidget(self.act_stack, 1)
        self.act_side = QWidget()
        side = QVBoxLayout(self.act_side)
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(self.act_extra_info)
        side.addWidget(self.act_extra, 1)
        self.act_side.setVisible(False)
        body.addWidget(self.act_side, 1)
        la.addLayout(body, 1)

        # ---- saliency
        self.sal_info = QLabel()
        self.sal_info.setWordWrap(True)
        self.sal_image = ImageView()
        self.sal_bars = BarsView()
        sal_scroll = QScrollArea()
        sal_scroll.setWidgetResizable(True)
        sal_scroll.setWidget(self.sal_bars)
        self.sal_stack = QStackedWidget()
        self.sal_stack.addWidget(self.sal_image)
        self.sal_stack.addWidget(sal_scroll)
        self.sal_tokens = TokenStrip()
        tok_scroll = QScrollArea()
        tok_scroll.setWidgetResizable(True)
        tok_scroll.setWidget(self.sal_tokens)
        self.sal_stack.addWidget(tok_scroll)
        page_sal = QWidget()
        ls = QVBoxLayout(page_sal)
        ls.setContentsMargins(0, 0, 0, 0)
        ls.addWidget(self.sal_info)
        ls.addWidget(self.sal_stack, 1)

        # ---- importance
        self.imp_info = QLabel()
        self.imp_info.setWordWrap(True)
        self.imp_bars = BarsView()
        imp_scroll = QScrollArea()
        imp_scroll.setWidgetResizable(True)
        imp_scroll.setWidget(self.imp_bars)
        page_imp = QWidget()
        li = QVBoxLayout(page_imp)
        li.setContentsMargins(0, 0, 0, 0)
        li.addWidget(self.imp_info)
        li.addWidget(imp_scroll, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(page_table, self.tr("Layers"))
        self.tabs.addTab(page_act, self.tr("Activations"))
        self.tabs.addTab(page_sal, self.tr("Saliency"))
        self.tabs.addTab(page_imp, self.tr("Importance"))

        inner = QWidget()
        lay = QVBoxLayout(inner)
        lay.addLayout(top)
        lay.addLayout(opts)
        lay.addWidget(self.tabs, 1)
        # scrolls instead of forcing its minimum size on the window when the dock is small
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self._update_buttons()

    # ------------------------------------------------------------------ state
    def set_blocked(self, analyze: str | None, explain: str | None) -> None:
        """Why Analyze / Explain cannot run now (``None``: they can)."""
        self._blocked = (analyze, explain)
        self._update_buttons()

    def _update_buttons(self) -> None:
        a, e = self._blocked
        self.analyze_btn.setEnabled(not self._busy and a is None)
        self.explain_btn.setEnabled(not self._busy and e is None)
        self.explain_btn.setToolTip(self.tr("Cannot explain: {why}").format(why=e) if e else
                                    self.tr("Run the chosen sample through the trained model: every layer's "
                                            "output, which inputs drove the prediction, and feature importance"))

    def set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        self.progress.setVisible(busy)
        self.cancel_btn.setVisible(busy)
        self.progress.setRange(0, 0)
        if busy:
            self.status.setText(text)
        self._update_buttons()

    def set_progress(self, pct: int, text: str = "") -> None:
        if not self._busy:
            return
        if pct >= 0:
            self.progress.setRange(0, 100)
            self.progress.setValue(pct)
        if text:
            self.status.setText(text)

    def show_status(self, text: str) -> None:
        self.status.setText(text)

    def show_error(self, text: str) -> None:
        self.status.setText(text)

    def set_classes(self, names: list[str] | None) -> None:
        keep = self.target.currentData()
        self.target.blockSignals(True)
        self.target.clear()
        self.target.addItem(self.tr("predicted class"), None)
        for i, n in enumerate(names or []):
            self.target.addItem(str(n), i)
        idx = self.target.findData(keep) if keep is not None else 0
        self.target.setCurrentIndex(max(idx, 0))
        self.target.blockSignals(False)

    def set_node_names(self, names: dict[str, str]) -> None:
        """Node id -> the name shown (the canvas label)."""
        self._names = dict(names)

    def options(self) -> dict:
        return {"split": self.split.currentData(), "sample": self.sample.value(), "target": self.target.currentData(),
                "method": self.method.currentData(), "baseline": self.baseline.currentData(),
                "steps": self.steps.value(), "importance": self.importance.isChecked()}

    def _method_changed(self) -> None:
        ig = self.method.currentData() == "integrated_gradients"
        self.baseline.setEnabled(ig)
        self.steps.setEnabled(ig)

    def _request_explain(self) -> None:
        self.explain_requested.emit(self.options())

    def clear(self) -> None:
        self.result = None
        self.analysis = None
        self.table.setRowCount(0)
        self.totals.setText("")
        self.node.clear()
        self.act_image.set_rgb(None)
        self.act_extra.set_rgb(None)
        self.act_info.setText("")
        self.sal_image.set_rgb(None)
        self.sal_bars.set_bars([], [])
        self.sal_tokens.set_tokens([], [])
        self.sal_info.setText("")
        self.imp_bars.set_bars([], [])
        self.imp_info.setText("")

    # ------------------------------------------------------------------ the table
    def show_analysis(self, analysis: dict) -> None:
        self.analysis = analysis
        rows = analysis["layers"]
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            name = QTableWidgetItem(self._names.get(r["id"], r["name"]))
            name.setData(Qt.UserRole, r["id"])
            self.table.setItem(i, 0, name)
            self.table.setItem(i, 1, QTableWidgetItem(engine_tr(r["type"].split(".")[0])))
            self.table.setItem(i, 2, QTableWidgetItem(_shape(r["output_shape"])))
            self.table.setItem(i, 3, _num(r["params"]))
            self.table.setItem(i, 4, _num(r["trainable"]))
            self.table.setItem(i, 5, _num(r["macs"]))
            mem = QTableWidgetItem(human_bytes(r["activation_bytes"]))
            mem.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            self.table.setItem(i, 6, mem)
            warn = QTableWidgetItem("; ".join(engine_tr(w) for w in r["warnings"]))
            if r["warnings"]:
                warn.setForeground(Qt.darkRed)
                warn.setToolTip("\n".join(engine_tr(w) for w in r["warnings"]))
            self.table.setItem(i, 7, warn)
        t = analysis["totals"]
        text = self.tr("Total: {params} parameters ({trainable} trainable), {macs} multiply-adds per sample, "
                       "{memory} of layer outputs for a batch of {batch}").format(
            params=f"{t['params']:,}", trainable=f"{t['trainable']:,}", macs=f"{t['macs']:,}",
            memory=human_bytes(t["activation_bytes"]), batch=t["batch_size"])
        checked = analysis.get("checked")
        if checked:
            text += "\n" + self.tr("Checked on {rows} rows of the data; {n} warnings").format(
                rows=checked["rows"], n=sum(len(r["warnings"]) for r in rows))
        elif checked is None:
            text += "\n" + self.tr("Train the model to check it for dead units, saturation and gradient problems")
        self.totals.setText(text)

    def _table_selected(self) -> None:
        items = self.table.selectedItems()
        if items:
            nid = self.table.item(items[0].row(), 0).data(Qt.UserRole)
            if nid:
                self.node_chosen.emit(nid)

    # ------------------------------------------------------------------ results
    def show_explanation(self, result: dict) -> None:
        self.result = result
        if result.get("analysis"):
            self.show_analysis(result["analysis"])
        self.set_classes(result.get("class_names"))
        keep = self.node.currentData()
        self.node.blockSignals(True)
        self.node.clear()
        for a in result["activations"]:
            self.node.addItem(f"{self._names.get(a['id'], a['id'])}  {_shape(a['shape'])}", a["id"])
        idx = self.node.findData(keep) if keep else -1
        self.node.setCurrentIndex(idx if idx >= 0 else max(self.node.count() - 1, 0))
        self.node.blockSignals(False)
        self._node_changed()
        self._show_saliency(result["saliency"], result["sample"])
        self._show_importance(result.get("importance"))

    def select_node(self, nid: str) -> None:
        idx = self.node.findData(nid)
        if idx >= 0:
            self.node.setCurrentIndex(idx)
        for i in range(self.table.rowCount()):
            item = self.table.item(i, 0)
            if item is not None and item.data(Qt.UserRole) == nid:
                self.table.blockSignals(True)
                self.table.selectRow(i)
                self.table.blockSignals(False)

    def shown_activation(self) -> np.ndarray | None:
        """The array the Activations tab shows now (for tests and tooltips)."""
        a = self._activation(self.node.currentData())
        return None if a is None else a["values"]

    def _activation(self, nid):
        if not self.result or nid is None:
            return None
        return next((a for a in self.result["activations"] if a["id"] == nid), None)

    def _node_changed(self) -> None:
        nid = self.node.currentData()
        a = self._activation(nid)
        self.act_side.setVisible(False)
        self.act_extra_info.setText("")
        if a is None:
            return
        v = np.asarray(a["values"], dtype=np.float64)
        shape = a["shape"]
        if a["kind"] == "maps":
            k = min(shape[-1], MAX_MAPS)
            self.act_image.set_rgb(grid_rgb(np.moveaxis(v, -1, 0)[:k]))
            self.act_stack.setCurrentIndex(0)
            self.act_info.setText(self.tr("{k} of {n} feature maps of {h}×{w}, one colour scale "
                                          "from {lo:.3g} to {hi:.3g}").format(
                k=k, n=shape[-1], h=shape[0], w=shape[1], lo=float(v.min()), hi=float(v.max())))
        elif a["kind"] == "sequence":
            self.act_image.set_rgb(vector_rgb(v, signed=bool(v.min() < 0)))
            self.act_stack.setCurrentIndex(0)
            self.act_info.setText(self.tr("{length} positions (rows) × {d} features (columns), "
                                          "from {lo:.3g} to {hi:.3g}").format(
                length=shape[0], d=shape[1], lo=float(v.min()), hi=float(v.max())))
        elif v.size <= MAX_BARS:
            names = self._unit_names(nid, v.size)
            self.act_bars.set_bars(names, v)
            self.act_stack.setCurrentIndex(1)
            self.act_info.setText(self.tr("{n} values").format(n=v.size))
        else:
            self.act_image.set_rgb(vector_rgb(v, signed=bool(v.min() < 0)))
            self.act_stack.setCurrentIndex(0)
            self.act_info.setText(self.tr("{n} values as a strip, from {lo:.3g} to {hi:.3g}").format(
                n=v.size, lo=float(v.min()), hi=float(v.max())))
        if "attention" in a:
            att = np.asarray(a["attention"])
            self.act_extra.set_rgb(grid_rgb(att))
            self.act_side.setVisible(True)
            self.act_extra_info.setText(self.tr("Attention weights of {h} heads (row: position that looks, "
                                                "column: position looked at)").format(h=len(att)))
        maps = self._unit_maps(nid)
        if maps is not None:
            maps = np.asarray(maps)[:, ::-1]      # row 0 at the top is the largest y
            self.act_extra.set_rgb(grid_rgb(maps, signed=bool(maps.min() < 0)))
            self.act_side.setVisible(True)
            self.act_extra_info.setText(self.tr("Each unit's output over the input plane (x across, y up)"))

    def _unit_names(self, nid, n) -> list[str]:
        r = self.result or {}
        names = r.get("class_names")
        if nid == r.get("output_id") and names and len(names) == n:
            return list(names)
        return [str(i) for i in range(n)]

    def _unit_maps(self, nid):
        um = (self.result or {}).get("unit_maps")
        if not um:
            return None
        layer = next((l for l in um["layers"] if l["id"] == nid), None)
        return None if layer is None else layer["maps"]

    def _show_saliency(self, sal: dict, sample: dict) -> None:
        a = np.asarray(sal["attributions"], dtype=np.float64)
        names = (self.result or {}).get("class_names")
        if (self.result or {}).get("task") == "regression":
            cls = self.tr("output {i}").format(i=sal["target"])
        else:
            cls = names[sal["target"]] if names and sal["target"] < len(names) else str(sal["target"])
        if a.ndim == 3:
            heat = diverging_rgb(a.sum(axis=-1))
            pic = display_rgb(sample["input"])
            gap = np.full((pic.shape[0], max(1, pic.shape[1] // 16), 3), 255, dtype=np.uint8)
            self.sal_image.set_rgb(np.concatenate([pic, gap, heat], axis=1))
            self.sal_stack.setCurrentIndex(0)
        elif self._token_saliency(sal):
            ids = np.asarray(sample["input"]).reshape(-1)
            self.sal_tokens.set_tokens([f"{int(t)}" for t in ids], a)
            self.sal_stack.setCurrentIndex(2)
        elif "groups" in sal:
            self.sal_bars.set_bars([g["name"] for g in sal["groups"]], [g["value"] for g in sal["groups"]])
            self.sal_stack.setCurrentIndex(1)
        elif a.ndim == 1 and a.size <= MAX_BARS:
            self.sal_bars.set_bars([str(i) for i in range(a.size)], a)
            self.sal_stack.setCurrentIndex(1)
        else:
            self.sal_image.set_rgb(vector_rgb(a.reshape(a.shape[0], -1) if a.ndim > 1 else a, signed=True))
            self.sal_stack.setCurrentIndex(0)
        if sal["method"] == "integrated_gradients":
            text = self.tr("Integrated gradients for class {cls}: red raised its score, blue lowered it. "
                           "Attributions sum to {sum:.4g}; score {fx:.4g} at the input, {fb:.4g} at the baseline "
                           "(gap {delta:.2g})").format(cls=cls, sum=sal["sum"], fx=sal["f_x"], fb=sal["f_baseline"],
                                                        delta=sal["delta"])
        else:
            text = self.tr("Gradient × input for class {cls}: red raised its score, blue lowered it "
                           "(score {fx:.4g})").format(cls=cls, fx=sal["f_x"])
        self.sal_info.setText(text)

    def _token_saliency(self, sal: dict) -> bool:
        """Attributions computed on an Embedding's vectors (one value per token id)."""
        acts = (self.result or {}).get("activations") or []
        return bool(acts) and sal.get("where") != acts[0]["id"]

    def _show_importance(self, imp: dict | None) -> None:
        if not imp:
            self.imp_bars.set_bars([], [])
            self.imp_info.setText(self.tr("Feature importance is computed for table data"))
            return
        f = imp["features"]
        metric = {"loss": self.tr("loss"), "accuracy": self.tr("accuracy"), "mae": self.tr("mean absolute error"),
                  "rmse": self.tr("root mean squared error"), "r2": self.tr("R²")}.get(imp["metric"], imp["metric"])
        self.imp_bars.set_bars([r["name"] for r in f], [r["importance"] for r in f], [r["std"] for r in f])
        self.imp_info.setText(self.tr("How much the {metric} worsens when one column is shuffled, on {rows} rows; "
                                      "mean of {repeats} repeats ± one standard deviation").format(
            metric=metric, rows=imp["rows"], repeats=imp["repeats"]))
