"""Adapter for braincog (being written)."""
