"""Markdown study notes → Anki decks and printable PDF revision sheets, from one parse."""

__version__ = "0.1.0"
