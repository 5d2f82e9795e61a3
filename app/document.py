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
    rng = np.random.default_rng(0)
    for nid in analysis.order:
        layer = analysis.layers[nid]
        in_shapes = [analysis.shapes[e.src] for e in spec.inputs_of(nid)]
        try:
            arrays = {**layer.init_params(in_shapes, rng, np.float32), **layer.init_state(in_shapes, np.float32)}
        except Exception:  # a layer that cannot initialise: treat as a layout change
            return {}
        for k, v in arrays.items():
            out[f"{nid}/{k}"] = tuple(np.shape(v))
    return out


def structure_key(spec: GraphSpec) -> str:
    """Everything that can affect shapes or parameters (not positions or names)."""
    import json
    return json.dumps([[(n.id, n.type, n.config) for n in spec.nodes],
                       sorted((e.src, e.dst, e.dst_port) for e in spec.edges)], sort_keys=True)


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
        self.weights: dict[str, np.ndarray] | None = None
        self.train_config: dict = {}
        self.data_spec: dict | None = None
        self.preprocessing: dict | None = None
        self.history: list[dict] = []
        self.metadata: dict = {}
        self.path: str | None = None

    # ------------------------------------------------------------------ edits
    def set_spec(self, spec: GraphSpec) -> None:
        """Replace the graph (called by undo commands); re-analyses and clears stale weights."""
        if spec == self.spec:
            return
        old_spec, old_analysis = self.spec, self.analysis
        self.spec = spec
        self.analysis = analyse(spec)
        if self.weights is not None and structure_key(spec) != structure_key(old_spec):
            if (not self.analysis.ok or
                    param_layout(spec, self.analysis) != param_layout(old_spec, old_analysis)):
                self.weights = None
                self.weights_changed.emit()
        self.changed.emit()

    def set_weights(self, weights: dict[str, np.ndarray] | None) -> None:
        self.weights = None if weights is None else dict(weights)
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
        self.weights = None if project.weights is None else dict(project.weights)
        self.history = copy.deepcopy(list(project.history or []))
        self.metadata = copy.deepcopy(dict(project.metadata or {}))
        self.path = path
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
            for shape in param_layout(self.spec, self.analysis).values():
                n = 1
                for d in shape:
                    n *= int(d)
                total += n
            self._n_params_key, self._n_params = key, total
        return self._n_params

    def train_blocker(self) -> str | None:
        """Why the graph cannot be trained (``None`` when it can)."""
        err = self.analysis.first_error()
        return None if err is None else err.message
