"""Michel, Levy & Neubig (2019), Are Sixteen Heads Really Better than One?

``spec`` declares the runs and targets; ``runs`` / ``targets``: the classifier part (figs 1(b), 2(b),
3(b), 6, tables 3, 4, 6); ``mt_runs`` / ``mt_targets``: the translation part (tables 1, 2, 5, figs
1(a), 2(a), 3(a), 4, 5); the printed numbers and claims are in ``printed.yaml``.
"""
