"""Controllers turn view intents into undo commands (graph) and file operations (project)."""
