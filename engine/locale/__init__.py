"""Catalogs of engine texts, one JSON file per language (see engine/i18n.py)."""
