"""Feature recipes: pure functions on arrays (no file I/O), each module with a ``RECIPE_VERSION``.

- `.eeg` — DMER EEG: filtering (+ optional ICA) and differential entropy, channels × 5 bands.
- `.physio` — DMER GSR (28) and PPG (27) window statistics.
- `.video` — LBP-TOP (768) over 1 s segments of grayscale frames.
- `.wesad` — WESAD heart/HRV (73), EDA (4), EMG (14), ACC (12), TEMP (6).
"""
