"""The model graph description: immutable, JSON-serialisable, versioned.

A :class:`GraphSpec` is what the canvas edits, what a project stores and what
:func:`engine.model.compile_graph` turns into a runnable model.  Every edit is a
pure function ``GraphSpec -> GraphSpec`` so that undo/redo and thread hand-off
are free (an old spec is simply kept).

Format (see ``docs/graph-format.md``)::

    {"schema_version": 1, "next_id": 4,
     "nodes": [{"id": "n1", "type": "Input.v1", "config": {"shape": [2]}, "pos": [0, 0]}, ...],
     "edges": [{"src": "n1", "dst": "n2", "dst_port": 0}, ...]}
"""
from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from engine.errors import UserError

SCHEMA_VERSION = 1

#: What a node id may look like: a letter or underscore, then up to 63 letters, digits,
#: underscores or hyphens (ASCII only).  The app creates ``n1``, ``n2``, ...  Ids end up in
#: weight keys (``"n3/W"``), ONNX tensor names and generated PyTorch code, so nothing else
#: is accepted anywhere a graph is built or read.
NODE_ID_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
#: node counters beyond this are refused (an id must stay within 64 characters)
MAX_NEXT_ID = 10 ** 15
#: display names longer than this are refused (they are labels, not documents)
MAX_NAME_LENGTH = 500


class SpecError(UserError):
    """A graph description that cannot be read (bad JSON shape, unknown version)."""


def check_node_id(node_id: object) -> str:
    """``node_id`` if it matches :data:`NODE_ID_PATTERN`, else :class:`SpecError`."""
    if not isinstance(node_id, str) or NODE_ID_PATTERN.fullmatch(node_id) is None:
        shown = repr(node_id)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        raise SpecError(f"node id {shown} is not allowed: an id starts with a letter or underscore and has "
                        f"at most 64 letters, digits, '_' or '-' (like 'n7')")
    return node_id


def _check_name(name: object, node_id: str) -> str:
    if not isinstance(name, str):
        raise SpecError(f"node {node_id!r}: name must be text")
    if len(name) > MAX_NAME_LENGTH:
        raise SpecError(f"node {node_id!r}: name is longer than {MAX_NAME_LENGTH} characters")
    return name


def _freeze_config(cfg: Mapping[str, Any]) -> dict:
    # Deep-copy through JSON so that a spec never shares mutable state with a caller
    # and so that the config is guaranteed JSON-able.
    try:
        return json.loads(json.dumps(dict(cfg)))
    except (TypeError, ValueError) as exc:
        raise SpecError(f"layer config is not JSON-serialisable: {exc}") from None


@dataclass(frozen=True)
class NodeSpec:
    """One layer on the canvas.

    ``id`` is stable across sessions ("n7"); ``type`` is a versioned registry key
    ("Dense.v1"); ``config`` holds only the fields that differ from, or restate,
    the layer's defaults; ``pos`` is a view hint that compilation ignores.
    """

    id: str
    type: str
    config: dict = field(default_factory=dict)
    pos: tuple[float, float] = (0.0, 0.0)
    name: str = ""

    def __post_init__(self):
        check_node_id(self.id)
        _check_name(self.name, self.id)

    def to_dict(self) -> dict:
        d = {"id": self.id, "type": self.type, "config": copy.deepcopy(self.config),
             "pos": [float(self.pos[0]), float(self.pos[1])]}
        if self.name:
            d["name"] = self.name
        return d

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass(frozen=True)
class EdgeSpec:
    """A connection from ``src``'s output to input port ``dst_port`` of ``dst``."""

    src: str
    dst: str
    dst_port: int = 0

    def to_dict(self) -> dict:
        return {"src": self.src, "dst": self.dst, "dst_port": int(self.dst_port)}


@dataclass(frozen=True)
class GraphSpec:
    nodes: tuple[NodeSpec, ...] = ()
    edges: tuple[EdgeSpec, ...] = ()
    next_id: int = 1

    # ------------------------------------------------------------------ queries
    # A spec is immutable, so its lookup tables are built once, on first use, in one pass
    # over nodes and edges (O(nodes + edges)); every query after that is O(1) or O(degree).
    # ``cached_property`` writes to the instance ``__dict__`` directly, which a frozen
    # dataclass allows; the tables are not fields, so equality and ``replace`` ignore them.
    @cached_property
    def structure_key(self) -> str:
        """A string that changes exactly when something that can affect shapes or parameters changes
        (node ids, types, settings, edges; not positions or names)."""
        return json.dumps([[(n.id, n.type, n.config) for n in self.nodes],
                           sorted((e.src, e.dst, e.dst_port) for e in self.edges)], sort_keys=True)

    @cached_property
    def _by_id(self) -> dict[str, NodeSpec]:
        index: dict[str, NodeSpec] = {}
        for n in self.nodes:
            index.setdefault(n.id, n)  # the first node with an id wins, as a linear scan would
        return index

    @cached_property
    def _in_edges(self) -> dict[str, list[EdgeSpec]]:
        ins: dict[str, list[EdgeSpec]] = {}
        for e in self.edges:
            ins.setdefault(e.dst, []).append(e)
        for lst in ins.values():
            lst.sort(key=lambda e: e.dst_port)  # stable: edge order within a port is kept
        return ins

    @cached_property
    def _out_edges(self) -> dict[str, list[EdgeSpec]]:
        outs: dict[str, list[EdgeSpec]] = {}
        for e in self.edges:
            outs.setdefault(e.src, []).append(e)
        return outs

    def node(self, node_id: str) -> NodeSpec:
        try:
            return self._by_id[node_id]
        except (KeyError, TypeError):
            raise KeyError(node_id) from None

    def has_node(self, node_id: str) -> bool:
        try:
            return node_id in self._by_id
        except TypeError:  # an unhashable id is not a node id
            return False

    @property
    def node_ids(self) -> list[str]:
        return [n.id for n in self.nodes]

    def inputs_of(self, node_id: str) -> list[EdgeSpec]:
        """Incoming edges of a node, sorted by port."""
        return list(self._in_edges.get(node_id, ()))

    def outputs_of(self, node_id: str) -> list[EdgeSpec]:
        return list(self._out_edges.get(node_id, ()))

    # ---------------------------------------------------------------- edits
    def new_id(self) -> tuple[str, "GraphSpec"]:
        """Reserve a fresh node id; returns it with the spec whose counter moved on."""
        if self.next_id >= MAX_NEXT_ID:
            raise SpecError("the graph's node counter is exhausted; save the graph and renumber its nodes")
        return f"n{self.next_id}", replace(self, next_id=self.next_id + 1)

    def add_node(self, type_id: str, config: Mapping | None = None,
                 pos: tuple[float, float] = (0.0, 0.0), node_id: str | None = None,
                 name: str = "") -> tuple["GraphSpec", str]:
        spec = self
        if node_id is None:
            node_id, spec = spec.new_id()
        elif spec.has_node(node_id):
            raise SpecError(f"node id {node_id!r} already exists")
        node = NodeSpec(node_id, type_id, _freeze_config(config or {}),
                        (float(pos[0]), float(pos[1])), name)
        return replace(spec, nodes=spec.nodes + (node,)), node_id

    def remove_nodes(self, node_ids: Iterable[str]) -> "GraphSpec":
        ids = set(node_ids)
        return replace(
            self,
            nodes=tuple(n for n in self.nodes if n.id not in ids),
            edges=tuple(e for e in self.edges if e.src not in ids and e.dst not in ids),
        )

    def connect(self, src: str, dst: str, dst_port: int = 0) -> "GraphSpec":
        """Connect ``src`` to ``dst``'s input ``dst_port``, replacing what fed that port."""
        if not self.has_node(src) or not self.has_node(dst):
            raise SpecError(f"cannot connect unknown nodes {src!r} -> {dst!r}")
        if src == dst:
            raise SpecError("a node cannot feed itself")
        edges = tuple(e for e in self.edges if not (e.dst == dst and e.dst_port == dst_port))
        return replace(self, edges=edges + (EdgeSpec(src, dst, int(dst_port)),))

    def disconnect(self, src: str, dst: str, dst_port: int | None = None) -> "GraphSpec":
        return replace(self, edges=tuple(
            e for e in self.edges
            if not (e.src == src and e.dst == dst and (dst_port is None or e.dst_port == dst_port))))

    def set_config(self, node_id: str, **changes: Any) -> "GraphSpec":
        node = self.node(node_id)
        cfg = dict(node.config)
        cfg.update(changes)
        return self._replace_node(replace(node, config=_freeze_config(cfg)))

    def rename(self, node_id: str, name: str) -> "GraphSpec":
        return self._replace_node(replace(self.node(node_id), name=name))

    def move_nodes(self, positions: Mapping[str, tuple[float, float]]) -> "GraphSpec":
        return self._same_edges(replace(self, nodes=tuple(
            replace(n, pos=(float(positions[n.id][0]), float(positions[n.id][1])))
            if n.id in positions else n for n in self.nodes)))

    def _replace_node(self, node: NodeSpec) -> "GraphSpec":
        return self._same_edges(replace(self, nodes=tuple(node if n.id == node.id else n for n in self.nodes)))

    def _same_edges(self, other: "GraphSpec") -> "GraphSpec":
        """``other`` (an edit with these edges) shares the edge tables already built: an edit of one
        setting on a large graph does not index its edges again."""
        for k in ("_in_edges", "_out_edges"):
            if k in self.__dict__:
                other.__dict__[k] = self.__dict__[k]
        return other

    # ------------------------------------------------------------ (de)serialise
    def to_dict(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "next_id": self.next_id,
            "nodes": [n.to_dict() for n in self.nodes],
            "edges": [e.to_dict() for e in self.edges],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Any) -> "GraphSpec":
        if not isinstance(data, Mapping):
            raise SpecError("graph must be a JSON object")
        try:
            data = migrate(dict(data))
            nodes = []
            seen = set()
            raw_nodes, raw_edges = data.get("nodes", []), data.get("edges", [])
            if not isinstance(raw_nodes, list) or not isinstance(raw_edges, list):
                raise SpecError("'nodes' and 'edges' must be lists")
            for raw in raw_nodes:
                if not isinstance(raw, Mapping):
                    raise SpecError("every node must be a JSON object")
                nid = check_node_id(raw["id"])
                if nid in seen:
                    raise SpecError(f"duplicate node id {nid!r}")
                seen.add(nid)
                pos = raw.get("pos", (0.0, 0.0))
                cfg = raw.get("config", {}) or {}
                if not isinstance(cfg, Mapping):
                    raise SpecError(f"node {nid!r}: config must be an object")
                if not isinstance(raw["type"], str):
                    raise SpecError(f"node {nid!r}: type must be text like 'Dense.v1'")
                nodes.append(NodeSpec(nid, raw["type"], _freeze_config(cfg),
                                      (float(pos[0]), float(pos[1])), _check_name(raw.get("name", ""), nid)))
            edges = []
            for raw in raw_edges:
                if not isinstance(raw, Mapping):
                    raise SpecError("every edge must be a JSON object")
                src, dst = raw["src"], raw["dst"]
                if src not in seen or dst not in seen:
                    raise SpecError(f"edge {str(src)[:80]!r} -> {str(dst)[:80]!r} names a node that does not exist")
                e = EdgeSpec(src, dst, _whole(raw.get("dst_port", 0), "dst_port", 0, 10 ** 6))
                edges.append(e)
            next_id = _whole(data.get("next_id", 0), "next_id", 0, MAX_NEXT_ID)
        except SpecError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
            raise SpecError(f"malformed graph description ({type(exc).__name__}: {exc})") from None
        # never hand out an id that already exists
        nums = [int(n.id[1:]) for n in nodes if n.id[:1] == "n" and n.id[1:].isdigit()]
        next_id = max([next_id, *(x + 1 for x in nums), 1])
        return cls(tuple(nodes), tuple(edges), next_id)

    @classmethod
    def from_json(cls, text: str | bytes) -> "GraphSpec":
        from engine.safe_json import JsonLimitError, loads

        try:
            data = loads(text, "graph file")
        except JsonLimitError as exc:
            raise SpecError(str(exc)) from None
        return cls.from_dict(data)


def _whole(v: Any, what: str, lo: int, hi: int) -> int:
    """A JSON whole number in ``[lo, hi]`` (``2.0`` is accepted, ``true`` and ``2.5`` are not)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not v.is_integer()):
        raise SpecError(f"{what} must be a whole number, got {str(v)[:40]}")
    if not lo <= v <= hi:
        raise SpecError(f"{what} must be from {lo} to {hi}, got {str(v)[:40]}")
    return int(v)


def migrate(data: dict) -> dict:
    """Bring an older graph dict up to :data:`SCHEMA_VERSION`.

    Version 0 (pre-release drafts) called edges ``links`` with ``from``/``to`` keys.
    """
    version = data.get("schema_version", 0)
    if not isinstance(version, int):
        raise SpecError("schema_version must be an integer")
    if version > SCHEMA_VERSION:
        raise SpecError(f"this graph was written by a newer NN Studio (schema {version}; "
                        f"this version reads up to {SCHEMA_VERSION})")
    if version == 0:
        data = dict(data)
        links = data.pop("links", None)
        if links is not None and "edges" not in data:
            data["edges"] = [{"src": l["from"], "dst": l["to"], "dst_port": l.get("port", 0)}
                             for l in links]
        data["schema_version"] = 1
    return data


def sequential(layers: Iterable[tuple[str, Mapping]], spacing: float = 90.0) -> GraphSpec:
    """Build a chain graph from ``(type_id, config)`` pairs, laid out top to bottom."""
    spec = GraphSpec()
    prev = None
    for i, (type_id, cfg) in enumerate(layers):
        spec, nid = spec.add_node(type_id, cfg, pos=(0.0, i * spacing))
        if prev is not None:
            spec = spec.connect(prev, nid)
        prev = nid
    return spec
