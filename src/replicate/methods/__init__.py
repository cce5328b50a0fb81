"""Shared methods: attention flow and rollout, attribution, identifiability, head importance, probing, syntax, patterns, statistics."""
