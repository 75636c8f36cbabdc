"""Proof-assistant backends: the Lean REPL pool and the LeanDojo adapter (``search.backends.lean``), Coq
(``search.backends.coq``), and the process owner they share (``search.backends.process``).

Import the backend you use from its own package; importing this one starts nothing.
"""
