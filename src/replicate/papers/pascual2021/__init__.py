"""Pascual, Brunner & Wattenhofer (2021), Telling BERT's Full Story (EACL 2021, arXiv 2004.05916).

Only the abstract is available (``shared/reference/pascual2021.md``): the data, the discrepancy
measure and every number are [unverified], and all target IDs are suite-local placeholders.  The
measures (Jensen–Shannon divergence, Pearson r, top-1 agreement) are the card's *candidate*
measures, named as such.  Attribution target: the head output A·V before W^O (32-d in MiniLM),
``||∂z_i / ∂e^0_j||_F`` normalised over j (HTA with the head output as the target), from the shared
HTA run (:mod:`replicate.runs.hta`, configured under ``brunner2020.hta``).

table1 (Clark-style dependency probing, attention vs attribution; existence [unverified]): its own
runs (``deps``: parsed sentences; ``deps_run``: the same two maps on them, word level), scored per
relation with :mod:`replicate.methods.syntax` (best single head, fixed-offset baseline).
"""
