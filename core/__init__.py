"""The bottom floor: what every package of the suite uses, and which therefore imports none of
them — declared constraints of options (`core.params`), registry discovery
(`core.discovery`), quiet progress bars (`core.progress`), the metric definitions
(`core.metrics`) and new files' mode (`core.files`). ``datasets``, ``methods``,
``protocols``, ``reports`` and ``benchmark`` all import from here; nothing here imports them
(``tests/test_layering.py``)."""
