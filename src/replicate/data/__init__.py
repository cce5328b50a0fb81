"""Data: offline corpora, the agreement set, model and data-set sources, task preparation and I/O helpers."""
