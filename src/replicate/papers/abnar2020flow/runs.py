"""The two correlation passes of abnar2020flow: one row per (example, layer, method, importance)."""

from __future__ import annotations

from . import analysis


def sva_correlations(args: dict, outputs: dict, params: dict) -> None:
    """Tables 1-2: the verb-number transformer's test examples (blank-out, gradient, gradient×input)."""
    analysis.sva_correlations(args["model"], args["data"], params).to_csv(outputs["csv"], index=False)


def sst_correlations(args: dict, outputs: dict, params: dict) -> None:
    """Table 3: a sentiment classifier (fine-tuned here, or a configured model) on its test sentences."""
    model = {"source": "local", "path": args["model"]} if "model" in args else params["model"]
    analysis.sst_correlations(model, args["data"], params).to_csv(outputs["csv"], index=False)
