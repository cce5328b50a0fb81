"""Abnar & Zuidema (2020), Quantifying Attention Flow in Transformers (ACL): raw attention, rollout
and flow against blank-out and gradient importance (Tables 1-3), attention graphs and maps (Figs 1-4).

``spec`` declares the runs and targets; ``printed.yaml`` holds the paper's numbers and claims;
``runs`` and ``targets`` call the shared methods (``replicate.methods.attention``, ``attribution``, ``stats``).
"""
