"""Brunner et al. (2020), On Identifiability in Transformers (ICLR 2020, arXiv 1908.04211v4).

The reference card has no number from the body of the paper (abstracts and the appendix's probe
set-up only; figure contents reconstructed, [unverified]): every claim in ``printed.yaml`` judges
the abstract's finding.  Methods: :mod:`replicate.methods.identifiability` (null space, effective
attention, alternative attention rows, HTA) and :mod:`replicate.methods.probing`; the pairs and HTA
runs are shared with pascual2021 (:mod:`replicate.runs.shared`).
"""
