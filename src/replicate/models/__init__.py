"""The suite's own models (the verb-number transformer, the toy translation model) and their training loops."""
