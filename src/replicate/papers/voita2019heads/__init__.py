"""Voita, Talbot, Moiseev, Sennrich & Titov (2019, ACL), "Analyzing Multi-Head Self-Attention: Specialized Heads Do the
Heavy Lifting, the Rest Can Be Pruned": head confidence, LRP head relevance, head functions, and Hard Concrete L0
pruning of the shared translation model (replicate.runs.shared.translation)."""
