"""Every user-facing message the engine can produce has a zh_CN translation (issue 13).

An AST scan of ``engine/`` finds the places where a message is made:

* ``raise SomeError(<text>)`` (any exception class; ``<text>`` a literal, an f-string,
  a concatenation or a conditional, or a local variable holding one);
* graph problems the canvas shows (``a.errors[nid] = <text>`` in ``engine/compile.py``);
* what "fit to data" reports (``problems.append(<text>)``, ``changes.append(<text>)``) and the
  model check's findings (``row["warnings"].append(<text>)``);
* the ``"reason"`` of a skipped file or dropped row (``{"file": ..., "reason": <text>}``);
* training events (``Status(state, <text>)``) and the texts returned by functions named
  ``*_message`` / ``*_problem`` (the training process's failure text, refused input files).

Each place is rendered into English messages with sample values.  A placeholder
expression is resolved where it can be: a local variable assigned a text in the same
function (``src = f"{source}, " if source else ""``, ``hint = "add Reshape before it"
if ... else ...``) gives every text it can hold; a parameter of the enclosing function
takes the texts passed by its callers anywhere in ``engine/`` (``safe_json.loads(raw,
what)`` with ``what = f"{name} in the project"``); a call of a function of the same
module takes the texts it returns (``info.describe_task()``).  Everything else gets a
sample value by the look of the expression (a file name, a shape, a number, a node
name ``Dense 'dense_1'``); an exception's text is a sample with a ``": "`` inside, so a
template must name that placeholder ``reason``/``msg``/``hint``/``message`` (the names
whose values may span clauses, ``engine/i18n.py``).

A message passes when the zh_CN catalog changes it, the result contains Chinese, and
what is left after removing the sample values has no run of English words.  Messages
that no user can cause (programming errors, the wire protocol between our own
processes) are listed in :data:`ALLOWED` with the reason.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine import i18n

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"

#: (file, message in source form, ``{expr}`` for each placeholder) -> why it stays English
#: method names of built-in types: a call ``obj.name(...)`` is not a call of an engine function of that name
_BUILTIN_METHODS = frozenset(dir(str)) | frozenset(dir(bytes)) | frozenset(dir(dict)) | frozenset(dir(list))

ALLOWED = {
    # programming errors: layer classes registering themselves at import
    ("engine/registry.py", "{cls.__name__}: type_id must look like 'Name.v1', got {tid!r}"): "layer class bug",
    ("engine/registry.py", "layer type {tid!r} is already registered"): "layer class bug",
    ("engine/registry.py", "{tid}: Config must be a dataclass"): "layer class bug",
    ("engine/registry.py", "{tid}: unknown category {cls.category!r}"): "layer class bug",
    # programming errors: callers inside the engine/app pass a wrong value
    ("engine/fastpath.py", "unknown fast-path strategy {value!r}"): "internal switch (env var for benchmarks)",
    ("engine/data/__init__.py", "module 'engine.data' has no attribute {name!r}"): "Python's own AttributeError "
                                                                                   "for a misspelt import",
    ("engine/initializers.py", "unknown initialiser {kind!r}"): "layers pass fixed initialiser names",
    ("engine/data/loader.py", "load_dataset needs a DataSpec"): "API misuse by a caller",
    ("engine/data/dataset.py", "unknown split '{split}' (expected train, val or test)"): "API misuse by a caller",
    ("engine/data/images.py", "mode must be 'L' or 'RGB', got {mode!r}"): "the loader passes L or RGB",
    ("engine/data/preprocess.py", "expected a table (pandas DataFrame)"): "API misuse by a caller",
    ("engine/data/preprocess.py", "class index out of range 0..{len(names) - 1}"): "the model's argmax is in range",
    ("engine/spec.py", "<<node_id>>"): "KeyError for a missing node id (API lookup)",
    ("engine/templates.py", "unknown template {key!r}"): "KeyError; the CLI checks the name first with its own message",
    ("engine/userdirs.py", "<<kind>>"): "ValueError for an unknown folder kind (API misuse)",
    ("engine/optimizers.py", "got a gradient for {key!r}, which is not a parameter"): "model/optimizer bug",
    ("engine/optimizers.py", "gradient for {key} has shape {g.shape}, the parameter has {p.shape}"): "model/optimizer bug",
    ("engine/io.py", "array {k!r} has dtype object and cannot be saved safely"): "the app saves float arrays only",
    ("engine/export/torch_codegen.py", "the PyTorch generator does not place {', '.join(sorted(missing))}"):
        "generator bug (a weight it did not place)",
    ("engine/losses.py", "the {self.name} loss does not take logits"): "trainer bug (logits only to fused losses)",
    ("engine/train_process.py", "<<main()>>"): "SystemExit with the child's exit code",
    ("engine/train_process.py", "the training process is not running"): "ProcessGone: caught by app/workers, never shown",
    ("engine/train_process.py", "the training process has ended"): "ProcessGone: caught by app/workers, never shown",
    # the frame protocol between the app and its own training process
    **{("engine/wire.py", m): "wire protocol between our own processes" for m in (
        "cannot send a value of type {type(v).__name__}", "not an NN Studio frame",
        "the stream ended inside a frame", "cannot send an array of dtype {v.dtype}",
        "unknown event {v['__ev__']!r} in a frame", "bad frame header: {exc}",
        "array of dtype {dt} in a frame", "array outside the frame")},
    # cancellation is not an error message: the data panel shows its own text
    ("engine/data/csvio.py", "loading cancelled"): "LoadCancelled: the GUI says it itself",
    ("engine/data/images.py", "loading cancelled"): "LoadCancelled: the GUI says it itself",
    ("engine/data/loader.py", "loading cancelled"): "LoadCancelled: the GUI says it itself",
    ("engine/data/timeseries.py", "loading cancelled"): "LoadCancelled: the GUI says it itself",
}

#: messages made in a way the scan cannot render, checked by a test of their own
CHECKED_ELSEWHERE = {
    ("engine/trainer.py", ("<<head + f'Training is paused: Resume retries with half the learning rate "
                           "({self.optimizer.lr:g} -> {self.optimizer.lr / 2:g}), Stop ends the run. "
                           "Gradient clipping or standardised inputs also help.'>>")):
        "test_engine_events.py::test_divergence_message_is_translated",
}
#: messages that are only an inner exception passed on (its own raise site is checked)
PASS_ON = re.compile(r"^<<(str\(exc\)|exc\.reason|problem)>>$")

# ------------------------------------------------------------------ sample values
#: a third-party exception text (zlib's): ": " inside on purpose (see the module docstring)
EXC_TEXT = "Error -3 while decompressing data: invalid stored block lengths"
#: expression source (regex, searched) -> sample value; the first match wins
SAMPLES = [
    (r"describe_node|describe\(|out_node|ctx\.what", "Dense 'dense_1'"),
    (r"^node_id|^nid|^shown", "'n7'"),
    (r"^type\(exc\)\.__name__", "BadZipFile"),
    (r"os_reason|_reason\(", "Permission denied"),
    (r"^(exc|e|err|first|exc\.msg|str\(exc\)\[:200\])$", EXC_TEXT),
    (r"^detail$", "is nested 300 levels deep (at most 200 are accepted)"),
    (r"^src$|^where$", "data.csv, "),
    (r"size|bytes|^len\(|^k$", "7"),
    (r"row_labels", "row 7"),
    (r"delimiter", "';'"),
    (r"^spec\.missing$", "median"),
    (r"^trailing", "Softmax"),
    (r"want_act|a_want", "softmax"),
    (r"_shape_text", "28, 28, 1"),
    (r"'×'\.join", "28×28×1"),
    (r"fmt_shape|_shape\(|shape|^want$|^have$|tuple\(", "(None, 28, 28, 1)"),
    (r"join", "a, b"),
    (r"label\(|^enc$|encoding", "GB18030"),
    (r"dtype", "float64"),
    (r"path|name|file|root|folder|source|^p$|^d$|^cand", "data.csv"),
    (r"sheet", "Sheet1"),
    (r"text\[|^v$|value|^x$|^mode|key|^k$|^what$|^tid|^dst|^module|^weights", "'abc'"),
]
DEFAULT_SAMPLE = "7"
#: functions whose result is a value (a node name, a shape), not a text to follow
NOT_FOLLOWED = {"describe", "describe_node", "fmt_shape", "_shape", "_shape_text", "label"}
MAX_VARIANTS = 64
#: engine exceptions whose texts are followed into the messages that wrap them
#: (``f"{describe(node)} {exc}"`` for ``except ShapeError as exc``)
ENGINE_ERRORS = {"ShapeError", "ConfigError", "ImageDecodeError"}
#: other engine exceptions are followed to the functions of the same module that the
#: ``try`` block calls (``try: rows = _records(...) except DataError as exc:`` in csvio.py)
BUILTIN_ERRORS = {"ValueError", "OSError", "TypeError", "KeyError", "RuntimeError", "UnicodeDecodeError",
                  "RecursionError", "MemoryError", "ImportError", "IndexError", "AttributeError"}


#: (file, expression) -> sample: a third-party text the message is known to carry
FILE_SAMPLES = {
    ("engine/data/csvio.py", "exc"): "field larger than field limit (131072)",  # csv.Error
    ("engine/safe_json.py", "exc"): "an integer with 5000 digits (at most 4300 are accepted)",
    ("engine/safe_json.py", "exc.msg"): "Expecting value",  # json.JSONDecodeError.msg
}


def sample_for(expr: str, file: str = "") -> str:
    if (file, expr) in FILE_SAMPLES:
        return FILE_SAMPLES[file, expr]
    for rx, value in SAMPLES:
        if re.search(rx, expr):
            return value
    return DEFAULT_SAMPLE


# ------------------------------------------------------------------ the scan
@dataclass
class Site:
    file: str
    line: int
    source: str          # the message in source form, "{expr}" per placeholder
    texts: list[str]     # rendered English messages
    samples: set[str]    # leaf sample values used (removed before the English check)


class Module:
    def __init__(self, path: Path, project: Project):
        self.path = path
        self.rel = path.relative_to(ROOT).as_posix()
        self.tree = ast.parse(path.read_text("utf-8"))
        self.project = project
        self.parent: dict[int, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parent[id(child)] = node
        self.functions: dict[str, list[ast.FunctionDef]] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions.setdefault(node.name, []).append(node)

    def scope(self, node) -> ast.AST:
        p = self.parent.get(id(node))
        while p is not None and not isinstance(p, (ast.FunctionDef, ast.AsyncFunctionDef)):
            p = self.parent.get(id(p))
        return p if p is not None else self.tree


class Project:
    def __init__(self, root: Path):
        self.modules = [Module(p, self) for p in sorted(root.rglob("*.py"))
                        if "kernels" not in p.parts and p.name != "i18n.py"]
        self.raises: dict[str, list[tuple[Module, ast.AST]]] = {}
        for m in self.modules:
            for node in ast.walk(m.tree):
                if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
                    f = node.exc.func
                    name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                    self.raises.setdefault(name, []).append((m, node.exc.args[0]))
        self.calls: dict[str, list[tuple[Module, ast.Call]]] = {}
        for m in self.modules:
            for node in ast.walk(m.tree):
                if isinstance(node, ast.Call):
                    f = node.func
                    name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
                    if name:
                        self.calls.setdefault(name, []).append((m, node))


def _is_texty(node) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.IfExp):
        return _is_texty(node.body) or _is_texty(node.orelse)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _is_texty(node.left) or _is_texty(node.right)
    if isinstance(node, ast.BoolOp):
        return any(_is_texty(v) for v in node.values)
    return False


def _cover(lists: list[list[str]]) -> list[str]:
    """Concatenations covering every variant of every part (not the full product)."""
    if not lists:
        return [""]
    n = min(max(len(v) for v in lists), MAX_VARIANTS)
    return list(dict.fromkeys("".join(v[i % len(v)] for v in lists) for i in range(n)))


class Renderer:
    def __init__(self, module: Module):
        self.m = module
        self.samples: set[str] = set()

    def variants(self, node, depth: int = 0) -> list[str]:
        m = self.m
        if depth > 8:
            return [self.leaf(node)]
        if isinstance(node, ast.Constant):
            return [node.value if isinstance(node.value, str) else str(node.value)]
        if isinstance(node, ast.JoinedStr):
            parts = []
            for v in node.values:
                if isinstance(v, ast.Constant):
                    parts.append([v.value])
                else:
                    parts.append(self.variants(v.value, depth + 1))
            return _cover(parts)
        if isinstance(node, ast.IfExp):
            return list(dict.fromkeys(self.variants(node.body, depth + 1) + self.variants(node.orelse, depth + 1)))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and (_is_texty(node.left) or _is_texty(node.right)):
            return _cover([self.variants(node.left, depth + 1), self.variants(node.right, depth + 1)])
        if isinstance(node, ast.BoolOp):
            out = []
            for v in node.values:
                out += self.variants(v, depth + 1) if _is_texty(v) else [self.leaf(v)]
            return list(dict.fromkeys(out))
        if isinstance(node, ast.Attribute) and node.attr == "reason" and isinstance(node.value, ast.Name):
            got = self.caught_texts(node.value, depth)  # ImageDecodeError.reason is its message
            if got:
                return got
        if isinstance(node, ast.Name):
            got = self.caught_texts(node, depth)
            if got:
                return got
            got = self.local_texts(node, depth)
            if got:
                return got
            got = self.argument_texts(node, depth)
            if got:
                return got
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            if (name == "join" and isinstance(f.value, ast.Constant) and len(node.args) == 1
                    and isinstance(node.args[0], ast.Name)):
                calls = self.appended_texts(node.args[0], depth)
                if calls:
                    got = [v for c in calls for v in c]
                    return list(dict.fromkeys(got + [f.value.value.join(c[0] for c in calls)]))
            if name == "_short" and node.args:  # engine.data.tabular/preprocess: shortens a value
                return self.variants(node.args[0], depth + 1)
            if name and name in m.functions and name not in NOT_FOLLOWED:
                got = self.returned_texts(m.functions[name], depth)
                if got:
                    return got
        return [self.leaf(node)]

    def leaf(self, node) -> str:
        value = sample_for(ast.unparse(node), self.m.rel)
        self.samples.add(value)
        return value

    def local_texts(self, name: ast.Name, depth: int) -> list[str]:
        scope = self.m.scope(name)
        out: list[str] = []
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and node.lineno < name.lineno and any(
                    isinstance(t, ast.Name) and t.id == name.id for t in node.targets) and _is_texty(node.value):
                out += self.variants(node.value, depth + 1)
        return list(dict.fromkeys(out))

    def caught_texts(self, name: ast.Name, depth: int) -> list[str]:
        """``exc`` in ``except ShapeError as exc``: the texts of every ``raise ShapeError(...)``."""
        p = self.m.parent.get(id(name))
        while p is not None and not (isinstance(p, ast.ExceptHandler) and p.name == name.id):
            p = self.m.parent.get(id(p))
        if p is None or p.type is None:
            return []
        types = p.type.elts if isinstance(p.type, ast.Tuple) else [p.type]
        names = [t.attr if isinstance(t, ast.Attribute) else getattr(t, "id", "") for t in types]
        if not all(n.endswith("Error") and n[:1].isupper() and n not in BUILTIN_ERRORS for n in names):
            return []
        try_node = self.m.parent.get(id(p))
        used = {getattr(x, "id", None) or getattr(x, "attr", None) for stmt in try_node.body for x in ast.walk(stmt)
                if isinstance(x, (ast.Name, ast.Attribute))} - {getattr(self.m.scope(name), "name", None)}
        out: list[str] = []
        for n in names:
            if n in ENGINE_ERRORS:
                found = self.m.project.raises.get(n, [])
            else:  # what the functions of this module called in the try block raise
                found = [(self.m, r.exc.args[0]) for fname in used & set(self.m.functions)
                         for fn in self.m.functions[fname] for r in ast.walk(fn)
                         if isinstance(r, ast.Raise) and isinstance(r.exc, ast.Call) and r.exc.args
                         and getattr(r.exc.func, "id", getattr(r.exc.func, "attr", "")) == n]
            for mod, expr in found:
                if _is_texty(expr):
                    r = Renderer(mod)
                    out += r.variants(expr, depth + 1)
                    self.samples |= r.samples
        return list(dict.fromkeys(out))

    def appended_texts(self, name: ast.Name, depth: int) -> list[list[str]]:
        """Per ``name.append(...)`` call, the texts it appends to the local list ``name``."""
        out: list[list[str]] = []
        for node in ast.walk(self.m.scope(name)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "append"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == name.id
                    and node.args and _is_texty(node.args[0])):
                out.append(self.variants(node.args[0], depth + 1))
        return out

    def argument_texts(self, name: ast.Name, depth: int) -> list[str]:
        """Texts that callers anywhere in the engine pass for the parameter ``name``."""
        fn = self.m.scope(name)
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) or fn.name.startswith("__"):
            return []
        params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
        method = bool(params) and params[0] in ("self", "cls")
        if method:
            params = params[1:]
        kw = {a.arg for a in fn.args.kwonlyargs}
        if name.id not in params and name.id not in kw:
            return []
        pos = params.index(name.id) if name.id in params else None
        out: list[str] = []
        for mod, call in self.m.project.calls.get(fn.name, []):
            if isinstance(call.func, ast.Attribute) and fn.name in _BUILTIN_METHODS:
                continue        # x.decode("utf-8", "replace") is bytes.decode, not our decode()
            if method and isinstance(call.func, ast.Attribute) and _package(mod.rel) != _package(self.m.rel):
                continue        # another package's method of that name (the ONNX exporter's g.const(...)
                                # is not the importer's NodeCtx.const(...))
            arg = None
            if pos is not None and pos < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[:pos + 1]):
                arg = call.args[pos]
            for k in call.keywords:
                if k.arg == name.id:
                    arg = k.value
            if (mod.rel.startswith("engine/onnx_import/") and isinstance(arg, ast.Constant)
                    and isinstance(arg.value, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", arg.value)):
                self.samples.add(arg.value)  # an ONNX input or attribute name ("starts", "ratio"): a value
            if arg is not None and _is_texty(arg) or isinstance(arg, ast.Name):
                r = Renderer(mod)
                got = r.variants(arg, depth + 1)
                self.samples |= r.samples
                out += got
        return list(dict.fromkeys(out))[:MAX_VARIANTS]

    def returned_texts(self, fns, depth: int) -> list[str]:
        out: list[str] = []
        for fn in fns:
            for node in ast.walk(fn):
                if isinstance(node, ast.Return) and node.value is not None and _is_texty(node.value):
                    out += self.variants(node.value, depth + 1)
        return list(dict.fromkeys(out))


def _package(rel: str) -> str:
    """``engine/onnx_import/ops.py`` -> ``engine/onnx_import``."""
    return rel.rsplit("/", 1)[0]


def source_form(node) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts.append(v.value)
            else:
                s = ast.unparse(v.value)
                if v.conversion != -1:
                    s += "!" + chr(v.conversion)
                if v.format_spec is not None:
                    s += ":" + "".join(c.value for c in v.format_spec.values if isinstance(c, ast.Constant))
                parts.append("{" + s + "}")
        return "".join(parts)
    return "<<" + ast.unparse(node) + ">>"


def _message_nodes(m: Module):
    """(node, expression) for every place in ``m`` that makes a user-facing message."""
    for node in ast.walk(m.tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
            yield node, node.exc.args[0]
        elif isinstance(node, ast.Assign) and m.rel == "engine/compile.py" and any(
                isinstance(t, ast.Subscript) and ast.unparse(t.value).endswith("errors") for t in node.targets):
            yield node, node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = ast.unparse(node.func.value)
            if node.func.attr == "append" and re.search(r"(problems|changes|warnings)['\"]?\]?$", owner) and node.args:
                yield node, node.args[0]
            elif node.func.attr == "setdefault" and owner.endswith("errors") and len(node.args) == 2:
                yield node, node.args[1]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Status" and len(node.args) > 1:
            yield node, node.args[1]
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if isinstance(k, ast.Constant) and k.value == "reason" and _is_texty(v):
                    yield node, v
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and re.search(r"_(message|problem)$", node.name):
            for r in ast.walk(node):
                if isinstance(r, ast.Return) and r.value is not None and _is_texty(r.value):
                    yield r, r.value


def _words(text: str) -> bool:
    return len(re.findall(r"[A-Za-z]{2,}", text)) >= 2


def scan() -> list[Site]:
    project = Project(ENGINE)
    sites = []
    for m in project.modules:
        for node, expr in _message_nodes(m):
            # a local variable holding the message (msg = f"..."; raise X(msg))
            if isinstance(expr, ast.Name):
                r = Renderer(m)
                texts = r.local_texts(expr, 0)
                if not texts:
                    continue
                src = source_form(expr)
            else:
                if not _is_texty(expr) and not PASS_ON.match(source_form(expr)):
                    continue
                r = Renderer(m)
                texts = r.variants(expr)
                src = source_form(expr)
            if PASS_ON.match(src):
                continue
            texts = [t for t in texts if _words(t)]
            if texts:
                sites.append(Site(m.rel, node.lineno, src, texts, set(r.samples)))
    return sites


SITES = scan()
CAT = i18n.catalog("zh_CN")
_ENGLISH = re.compile(r"\b[a-z]{2,}\b(?:[\s,;'()]+\b[a-z]{2,}\b)+")
#: English that stays in the Chinese text on purpose (names, options, code)
KEEP = re.compile(r"NN Studio|--[a-z-]+(?: [a-z0-9-]+)?|pip install [a-z0-9_.-]+|auto|padding 'same'|Excel 97-2003|"
                  r"utf-8-sig|one-hot|num_heads|vocab_size|\bsample:")


#: file names and extensions in a text (``metadata.json``, ``.npz``, ``train/``) are values
_FILEISH = re.compile(r"[\w./-]*\.[A-Za-z]\w*|\b\w+/")
_WORD1 = re.compile(r"\b[a-z]{3,}\b")


def _kept_words() -> set[str]:
    """Lowercase words the translators kept in the Chinese texts on purpose (``linear``, ``true``)."""
    import json
    data = json.loads((i18n.LOCALE_DIR / "zh_CN.json").read_text("utf-8"))
    return {w for section in data.values() for zh in section.values() for w in _WORD1.findall(zh)}


KEPT_WORDS = _kept_words()


def english_left(text: str, translated: str, samples: set[str]) -> str | None:
    """The English left in ``translated`` after removing values, or None: a run of words, or a
    single word that no Chinese text of the catalog keeps (``setting 'units' 必须...``)."""
    rest = translated
    for s in sorted(samples, key=len, reverse=True):
        rest = rest.replace(s, " ")
    rest = _FILEISH.sub(" ", KEEP.sub(" ", rest))
    m = _ENGLISH.search(rest)
    if m:
        return m.group(0)
    return next((w for w in _WORD1.findall(rest) if w not in KEPT_WORDS), None)


#: samples that every translation must copy unchanged, as often as the English has them
VERBATIM = ("(None, 28, 28, 1)", "data.csv", "Dense 'dense_1'")


def values_kept(text: str, translated: str) -> bool:
    return all(text.count(v) == translated.count(v) for v in VERBATIM)


def _has_han(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_the_scan_finds_the_message_sites():
    """Guards the scan itself: it sees a few hundred sites of every kind."""
    files = {s.file for s in SITES}
    assert len(SITES) > 350, len(SITES)
    for f in ("engine/compile.py", "engine/fit.py", "engine/trainer.py", "engine/data/tabular.py",
              "engine/export/importer.py", "engine/files.py", "engine/train_process.py"):
        assert f in files, f
    # a local variable is followed: hint = "..." if ... else "..." inside the shape errors
    conv = [t for s in SITES if s.file == "engine/layers/conv.py" for t in s.texts]
    assert any(t.endswith("it needs a channels axis last") for t in conv), conv
    # a parameter takes its callers' texts: safe_json's {what} is "graph.json in the project" etc.
    sj = [t for s in SITES if s.file == "engine/safe_json.py" for t in s.texts]
    assert any("in the project is not valid JSON" in t for t in sj), sj[:5]


def test_allowed_entries_still_exist():
    """ALLOWED lists only messages that are still in the engine."""
    found = {(s.file, s.source) for s in SITES}
    project = Project(ENGINE)
    for m in project.modules:
        for _node, expr in _message_nodes(m):
            found.add((m.rel, source_form(expr)))
    stale = [k for k in ALLOWED if k not in found]
    assert not stale, stale


def test_the_english_check_catches_a_half_translation():
    text = "unknown thing 'x', row 3"  # only the location ("row 3") is in the catalog
    assert CAT.translate(text) != text
    assert english_left(text, CAT.translate(text), {"'x'", "3"}) == "unknown thing"


@pytest.mark.parametrize("site", [s for s in SITES if (s.file, s.source) not in ALLOWED
                                  and (s.file, s.source) not in CHECKED_ELSEWHERE],
                         ids=lambda s: f"{s.file}:{s.line}")
def test_every_engine_message_is_translated(site):
    bad = []
    for text in site.texts:
        zh = CAT.translate(text)
        left = english_left(text, zh, site.samples)
        if zh == text or not _has_han(zh) or left or not values_kept(text, zh):
            bad.append(f"{text!r}\n    -> {zh!r}" + (f"\n    English left: {left!r}" if left else "")
                       + ("" if values_kept(text, zh) else "\n    a value was split or dropped"))
    assert not bad, f"{site.file}:{site.line} {site.source!r}\n" + "\n".join(bad)


#: run reasons the app and the command line store in a project's history (app/training_controller.py,
#: app/cli.py) besides the trainer's own; the training panel shows them through engine.i18n
APP_RUN_REASONS = {"failed", "diverged", "interrupted"}


def _trainer_run_reasons() -> set[str]:
    tree = ast.parse((ENGINE / "trainer.py").read_text("utf-8"))
    return {n.value.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "reason" for t in n.targets)
            and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)}


def test_run_reasons_are_translated():
    """The reason a run ended is stored as an identifier and shown translated ("早停", not "early_stopping")."""
    reasons = _trainer_run_reasons()
    assert {"completed", "stopped", "early_stopping"} <= reasons, reasons
    missing = sorted(r for r in reasons | APP_RUN_REASONS if not _has_han(CAT.translate(r)))
    assert not missing, missing


def test_encoding_labels_with_words_are_translated():
    """Encoding names appear in messages ("cannot be decoded as UTF-8 with BOM") and in the data panel."""
    from engine.data.encoding import LABELS
    worded = [v for v in LABELS.values() if re.search(r"\b[a-z]{3,}\b|\([^)]* [^)]*\)", v)]
    assert "UTF-8 with BOM" in worded and "cp1252 (Windows Western)" in worded, worded
    assert not [v for v in worded if not _has_han(CAT.translate(v))]
    zh = CAT.translate("t.csv, line 2 (byte 5): cannot be decoded as UTF-8 with BOM (the chosen encoding; "
                       "bytes ff fe); choose the file's encoding with --encoding or the Encoding box of the data panel")
    assert "UTF-8（带 BOM）" in zh and "t.csv" in zh, zh


OS_ERRORS = {"OSError", "IOError", "EnvironmentError", "FileNotFoundError", "PermissionError",
             "IsADirectoryError", "NotADirectoryError"}
#: messages that still splice an OSError's own text; engine/export is being edited on another
#: branch: wrap the value in engine.files.os_reason there, then remove it from this list
OS_TEXT_PENDING: set[tuple[str, str]] = set()


def _raw_os_error_texts() -> set[tuple[str, str]]:
    out = set()
    for m in Project(ENGINE).modules:
        for h in ast.walk(m.tree):
            if not (isinstance(h, ast.ExceptHandler) and h.name and h.type is not None):
                continue
            types = h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]
            if not {getattr(t, "id", getattr(t, "attr", "")) for t in types} & OS_ERRORS:
                continue
            for node in ast.walk(h):
                if isinstance(node, ast.JoinedStr) and any(
                        isinstance(v, ast.FormattedValue) and ast.unparse(v.value) in (h.name, f"str({h.name})")
                        for v in node.values):
                    out.add((m.rel, source_form(node)))
    return out


def test_os_errors_reach_messages_as_fixed_texts():
    """An OSError's str() is "[Errno 13] Permission denied: '/path'" in the C library's words (and,
    on Windows, language): messages use engine.files.os_reason(exc), which the catalogs translate."""
    found = _raw_os_error_texts()
    raw = sorted(found - OS_TEXT_PENDING)
    assert not raw, "use engine.files.os_reason(exc) in:\n" + "\n".join(f"{f}: {s}" for f, s in raw)
    assert OS_TEXT_PENDING <= found, f"fixed, remove from OS_TEXT_PENDING: {sorted(OS_TEXT_PENDING - found)}"


def test_an_unreadable_npz_says_why_in_chinese(tmp_path):
    from engine.data import DataError, DataSpec, load_dataset
    bad = tmp_path / "d.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError) as e:
        load_dataset(DataSpec(kind="npz", path=str(bad)))
    zh = i18n.message(e.value, "zh_CN")
    assert zh.startswith("d.npz：不是可读取的 .npz 文件（") and "Errno" not in zh, zh


def test_predicting_from_an_unreadable_npz_says_why(tmp_path):
    """A damaged .npz is an EvaluateError (not an internal error); a missing 'x' is said once."""
    import numpy as np

    from engine.evaluate import EvaluateError, _load_input
    bad = tmp_path / "b.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(EvaluateError) as e:
        _load_input(None, None, bad)
    assert i18n.message(e.value, "zh_CN") == "b.npz 无法作为 .npz 读取（不是 zip 文件）"
    np.savez(tmp_path / "a.npz", y=np.zeros(3))
    with pytest.raises(EvaluateError) as e:
        _load_input(None, None, tmp_path / "a.npz")
    assert str(e.value) == "a.npz has no array named 'x' (it has: y)"


@pytest.mark.parametrize("english, chinese", [
    # column and class names that happen to read like catalog texts stay as written
    ("target column 'row 1' not found; columns are: a, b", "找不到目标列“row 1”；现有的列：a, b"),
    ("data.csv, column 'line 2': 'x' is not a number", "data.csv，列“line 2”：“x”不是数字"),
    ("target column 'binary classification' has no values", "目标列“binary classification”没有任何值"),
    ("data.csv: only one class ('stopped') has images; classification needs at least two class subfolders",
     "data.csv：只有一个类别（“stopped”）有图像；分类至少需要两个类别子文件夹"),
])
def test_quoted_values_are_names_and_stay_untouched(english, chinese):
    assert CAT.translate(english) == chinese
