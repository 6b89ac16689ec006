"""Feature recipes: pure functions on arrays (no file I/O), each module with a ``RECIPE_VERSION``.

- :mod:`.eeg` — DMER EEG: filtering (+ optional ICA) and differential entropy, channels × 5 bands.
- :mod:`.physio` — DMER GSR (28) and PPG (27) window statistics.
- :mod:`.video` — LBP-TOP (768) over 1 s segments of grayscale frames.
- :mod:`.wesad` — WESAD heart/HRV (73), EDA (4), EMG (14), ACC (12), TEMP (6).
"""
