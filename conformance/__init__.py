"""The conformance suite: does each backend compute STEP's canonical equations?

It runs a catalogue of cases on every backend and judges each against the canonical equations
(computed by :mod:`.oracle`, an implementation independent of the reference backend) under a
stated tolerance policy, one honest outcome per (backend, case). See
docs/conformance.md; ``step conformance`` is the command, ``step.conformance.pytest_plugin``
runs the same cases inside a backend author's pytest session.

Modules (import them directly; this package imports nothing heavy):

- :mod:`.policy`: tolerances per dtype and the outcome vocabulary;
- :mod:`.drives`, :mod:`.cases`: input drives and the case catalogue (one factory per neuron
  kind); :mod:`.zoo_cases`: the neuron zoo's factories and drives; :mod:`.spec_space`: cases
  derived from each kind's spec (pairwise field combinations, input layouts, exact ties);
- :mod:`.oracle`: every kind written again from the spec docstrings; :mod:`.expect`: a case's
  expectation, computed by the oracle;
- :mod:`.modes`: how each mode calls a backend's module;
- :mod:`.compare`: spikes, membrane and gradient comparisons;
- :mod:`.runner`: running cases on backends;
- :mod:`.report_json`, :mod:`.report_md`, :mod:`.report_html`, :mod:`.plots`: the reports.
"""
