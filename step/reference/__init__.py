"""The reference backend: canonical equations, surrogates and encoders in plain PyTorch.

Import the submodules directly (``step.reference.functional``); this package imports nothing
heavy so that the entry point stays cheap.
"""
