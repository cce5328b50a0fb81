"""The targets of abnar2020flow: results in, figure + data file + our values out."""

from __future__ import annotations

import pandas as pd

from replicate import plots

from . import analysis


def _plot(summary, table, entry, params, png):
    plots.layer_curves(summary, f"abnar2020flow/{table}: {entry['what']}\n(ours: {params['data_note']})", png)


def sva_table(args: dict, params: dict, out: dict, entry: dict) -> dict:
    """Tables 1 and 2: mean ± std of rho per layer and method, for one importance."""
    df = pd.read_csv(args["csv"])
    summary = analysis.summarise(df[df["importance"] == params["importance"]], entry["values"], params["table"])
    summary.to_csv(out["csv"], index=False)
    result = analysis.upper_layer_means(summary, entry["values"]["upper_layers"])
    if params["table"] == "table2":  # the paper does not say which gradient: report the other one too
        imp = "inputgrad" if params["importance"] == "grad" else "grad"
        alt = analysis.summarise(df[df["importance"] == imp], entry["values"], params["table"])
        result["detail"] += f"; with importance = {imp} instead: {analysis.upper_means(alt, entry['values']['upper_layers'])}"
    _plot(summary, params["table"], entry, params, out["png"])
    return result


def sst_table(args: dict, params: dict, out: dict, entry: dict) -> dict:
    """Table 3: the configured aggregation and gradient target, with the CLS-row / true-label extension rows."""
    df = pd.read_csv(args["csv"])
    upper, paper = entry["values"]["upper_layers"], entry["values"]
    summary = analysis.sst_summary(df, paper, params["aggregate"], params["target"])
    extension = analysis.sst_summary(df, paper, "cls", "true_label").assign(variant="cls row, true-label logit")
    summary.assign(variant=f"{params['aggregate']} over rows, {params['target']}").pipe(
        lambda s: pd.concat([s, extension])).to_csv(out["csv"], index=False)
    result = analysis.upper_layer_means(summary, upper)
    other = analysis.sst_summary(df, paper, params["aggregate"], "true_label")
    result["detail"] += (f"; with the true-label logit instead: {analysis.upper_means(other, upper)}"
                         f"; CLS row and true label: {analysis.upper_means(extension, upper)}")
    _plot(summary, "table3", entry, params, out["png"])
    return result


def sva_figure(args: dict, params: dict, out: dict, entry: dict) -> dict:
    """Figs 1-3: attention graphs and CLS maps of the verb-number model."""
    return getattr(analysis, params["figure"])(args["model"], args["data"], params, out["png"], out["csv"])


def pronoun_figure(args: dict, params: dict, out: dict, entry: dict) -> dict:
    """Fig 4: [MASK] -> candidate weights per layer (and p(his)/p(her) with an MLM)."""
    return analysis.fig4(params, out["png"], out["csv"])
