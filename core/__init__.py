"""The bottom floor: what every package of the suite uses, and which therefore imports none of
them — declared constraints of options (:mod:`core.params`), registry discovery
(:mod:`core.discovery`), quiet progress bars (:mod:`core.progress`) and the metric definitions
(:mod:`core.metrics`). ``datasets``, ``methods``, ``protocols``, ``reports`` and ``benchmark``
all import from here; nothing here imports them (``tests/test_layering.py``)."""
