"""Kovaleva, Romanov, Rogers & Rumshisky (2019), Revealing the Dark Secrets of BERT (card
``shared/reference/kovaleva2019.md``): the declaration (``spec``), the printed numbers and claims
(``printed.yaml``), the runs (``runs``: one analysis per task, the pattern CNN; ``frames``: the
FrameNet probe) and the targets (``targets``: table1, figs 1-2, 5-9; ``frames``: figs 3-4)."""
