"""Adapter for norse (being written)."""
