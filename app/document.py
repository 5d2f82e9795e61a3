"""``GraphDocument``: the single source of truth the GUI edits.

It holds the current immutable ``GraphSpec`` plus its ``Analysis`` (shapes and
errors), the trained ``weights`` and the other project fields.  Only commands
(``app.commands``) call :meth:`set_spec`; views listen to :attr:`changed`.
"""
from __future__ import annotations

import copy

import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.compile import analyse
from engine.io import Project
from engine.spec import GraphSpec


def param_layout(spec: GraphSpec, analysis) -> dict:
    """``{"nid/name": shape}`` of every parameter and buffer the compiled model would have.

    Only meaningful for a valid graph; an invalid one returns ``{}``.
    """
    if not analysis.ok:
        return {}
    out = {}
    for nid in analysis.order:
        layer = analysis.layers[nid]
        in_shapes = [analysis.shapes[e.src] for e in spec.inputs_of(nid)]
        try:   # the shapes init would give, without drawing any weights (a 1 000-layer graph on every edit)
            shapes = {**layer.param_shapes(in_shapes), **layer.state_shapes(in_shapes)}
        except Exception:  # a layer that cannot initialise: treat as a layout change
            return {}
        for k, shape in shapes.items():
            out[f"{nid}/{k}"] = tuple(int(d) for d in shape)
    return out


def structure_key(spec: GraphSpec) -> str:
    """Everything that can affect shapes or parameters (not positions or names); computed once per
    (immutable) spec: :attr:`GraphSpec.structure_key`."""
    return spec.structure_key


#: how many trained weight sets a document keeps so that undo can bring them back
KEEP_WEIGHT_SETS = 4


def _same_arrays(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[k] is b[k] for k in a)


class GraphDocument(QObject):
    #: emitted after every spec change (edits, undo/redo, loads)
    changed = Signal()
    #: emitted when the weights are set or cleared
    weights_changed = Signal()
    #: emitted when a project is loaded or the document is reset (not on edits)
    project_loaded = Signal()
    path_changed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.spec = GraphSpec()
        self.analysis = analyse(self.spec)
        #: the most recent trained weight sets, newest last (see :attr:`weights`)
        self._weight_sets: list[dict[str, np.ndarray]] = []
        self._weights_cache: tuple | None = None
        self._editing = False
        self.train_config: dict = {}
        self.data_spec: dict | None = None
        self.preprocessing: dict | None = None
        self.history: list[dict] = []
        self.metadata: dict = {}
        self.path: str | None = None
        #: the loaded data set's shape and task (``engine.fit.DataInfo``), ``None`` before data is loaded
        self.data_info = None

    # ------------------------------------------------------------------ edits
    def set_spec(self, spec: GraphSpec) -> None:
        """Replace the graph (called by undo commands) and re-analyse it.

        Weights are never thrown away by an edit: :attr:`weights` is the newest
        kept weight set whose parameters all still fit the graph, so an edit
        that leaves every layer's parameter shapes unchanged keeps them, and
        undoing an edit that changed them brings them back.
        """
        if spec == self.spec:
            return
        had = self.weights
        before, self.spec = self.spec, spec
        # incremental: an edit that keeps the nodes and edges re-analyses only what it changed
        self.analysis = analyse(spec, previous=(before, self.analysis))
        now = self.weights
        if (had is None) != (now is None) or (had is not None and now is not None and not _same_arrays(had, now)):
            self._editing = True
            try:
                self.weights_changed.emit()
            finally:
                self._editing = False
        self.changed.emit()

    @property
    def editing(self) -> bool:
        """True while :attr:`weights_changed` is emitted because of a graph edit (not new training)."""
        return self._editing

    @property
    def weights(self) -> dict[str, np.ndarray] | None:
        """The trained weights for the current graph, or ``None``.

        The newest of the kept weight sets (:data:`KEEP_WEIGHT_SETS`) that has
        an array of the right shape for every parameter of the current graph
        (extra arrays, e.g. of a deleted layer, are left out).
        """
        key = (structure_key(self.spec), tuple(id(w) for w in self._weight_sets))
        if self._weights_cache is not None and self._weights_cache[0] == key:
            return self._weights_cache[1]
        layout = self.param_layout() if self._weight_sets else {}
        found = None
        if layout:
            for ws in reversed(self._weight_sets):
                if all(k in ws and tuple(np.shape(ws[k])) == shape for k, shape in layout.items()):
                    found = ws if len(ws) == len(layout) else {k: ws[k] for k in layout}
                    break
        self._weights_cache = (key, found)
        return found

    @weights.setter
    def weights(self, value) -> None:
        self.set_weights(value, emit=False)

    def set_weights(self, weights: dict[str, np.ndarray] | None, emit: bool = True) -> None:
        """New trained weights (``None``: forget every kept weight set)."""
        if weights is None:
            self._weight_sets = []
        else:
            self._weight_sets = [w for w in self._weight_sets if w is not weights][-(KEEP_WEIGHT_SETS - 1):]
            self._weight_sets.append(dict(weights))
        self._weights_cache = None
        if emit:
            self.weights_changed.emit()

    def set_path(self, path: str | None) -> None:
        self.path = path
        self.path_changed.emit(path or "")

    # ------------------------------------------------------------------ projects
    def load_project(self, project: Project, path: str | None = None) -> None:
        self.spec = project.graph
        self.analysis = analyse(self.spec)
        self.train_config = copy.deepcopy(project.train_config or {})
        self.data_spec = copy.deepcopy(project.data_spec)
        self.preprocessing = copy.deepcopy(project.preprocessing)
        self._weight_sets = [] if project.weights is None else [dict(project.weights)]
        self._weights_cache = None
        self.history = copy.deepcopy(list(project.history or []))
        self.metadata = copy.deepcopy(dict(project.metadata or {}))
        self.path = path
        self.data_info = None
        self.project_loaded.emit()
        self.path_changed.emit(path or "")
        self.weights_changed.emit()
        self.changed.emit()

    def to_project(self) -> Project:
        return Project(graph=self.spec, train_config=copy.deepcopy(self.train_config),
                       data_spec=copy.deepcopy(self.data_spec),
                       preprocessing=copy.deepcopy(self.preprocessing),
                       weights=None if self.weights is None else dict(self.weights),
                       history=copy.deepcopy(self.history), metadata=copy.deepcopy(self.metadata))

    def clear(self) -> None:
        self.load_project(Project(graph=GraphSpec()))

    # ------------------------------------------------------------------ queries
    def n_params(self) -> int:
        """Number of trainable values and buffers of the current graph (0 when invalid); cached."""
        key = structure_key(self.spec)
        if getattr(self, "_n_params_key", None) != key:
            total = 0
            for shape in self.param_layout().values():
                n = 1
                for d in shape:
                    n *= int(d)
                total += n
            self._n_params_key, self._n_params = key, total
        return self._n_params

    def param_layout(self) -> dict:
        """:func:`param_layout` of the current graph, cached per structure."""
        key = structure_key(self.spec)
        if getattr(self, "_layout_key", None) != key:
            self._layout_key, self._layout = key, param_layout(self.spec, self.analysis)
        return self._layout

    def train_blocker(self) -> str | None:
        """Why the graph cannot be trained (``None`` when it can)."""
        err = self.analysis.first_error()
        return None if err is None else err.message

    def set_data_info(self, info) -> None:
        """The loaded data set changed (``engine.fit.DataInfo`` or ``None``)."""
        if info != self.data_info:
            self.data_info = info
            self.changed.emit()

    def fit_problems(self) -> list[str]:
        """Why the (valid) graph does not fit the loaded data; empty when it does or no data is loaded."""
        if self.data_info is None or not self.analysis.ok:
            return []
        key = (structure_key(self.spec), self.data_info)
        if getattr(self, "_fit_key", None) != key:
            from engine.fit import fit_problems
            self._fit_key, self._fit = key, fit_problems(self.spec, self.data_info, self.analysis)
        return list(self._fit)
