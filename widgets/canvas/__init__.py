"""The graph canvas: ``GraphView`` (QGraphicsView emitting intents) over ``GraphScene``."""
from widgets.canvas.scene import GraphScene
from widgets.canvas.view import GraphView

__all__ = ["GraphScene", "GraphView"]
