"""Models written once against step (being written)."""
