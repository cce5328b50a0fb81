"""The one verdict judge on hand-made claims: each comparison kind, boundary values, missing values."""

import math

import pytest

from replicate.verdicts import ClaimError, check_entry, evaluate, judge


def entry(claim, marker="exact", statement="printed"):
    return {"where": "Table 9", "marker": marker, "statement": statement, "claim": claim}


ORDER = {"kind": "compare", "finding": "flow >= rollout > raw", "all": [["flow", ">=", "rollout"], ["rollout", ">", "raw"]]}


def test_order_claim_holds_and_fails():
    row = judge(entry(ORDER), {"values": {"raw": 0.1, "rollout": 0.5, "flow": 0.6}, "ours": "ours text"})
    assert row["verdict"] == "reproduced" and row["ours"] == "ours text" and row["marker"] == "exact"
    assert "flow 0.6 >= rollout 0.5: yes" in row["detail"] and row["paper"] == "printed" and row["where"] == "Table 9"
    row = judge(entry(ORDER), {"values": {"raw": 0.1, "rollout": 0.5, "flow": 0.4}})
    assert row["verdict"] == "not reproduced" and "flow 0.4 >= rollout 0.5: no" in row["detail"]


def test_boundary_values():
    claim = {"kind": "compare", "all": [["r", ">", 0.5]]}
    assert judge(entry(claim), {"values": {"r": 0.5}})["verdict"] == "not reproduced"  # strict
    assert judge(entry(claim), {"values": {"r": 0.5000001}})["verdict"] == "reproduced"
    ge = {"kind": "compare", "all": [["share", ">=", 0.4]]}
    assert judge(entry(ge), {"values": {"share": 0.4}})["verdict"] == "reproduced"
    assert judge(entry(ge), {"values": {"share": 0.3999}})["verdict"] == "not reproduced"


def test_any_and_nested_conditions():
    claim = {"kind": "compare", "any": [["a", ">", 1], {"all": [["b", "<=", 0], ["c", "==", True]]}]}
    assert judge(entry(claim), {"values": {"a": 0, "b": -1, "c": True}})["verdict"] == "reproduced"
    assert judge(entry(claim), {"values": {"a": 0, "b": -1, "c": False}})["verdict"] == "not reproduced"
    assert judge(entry(claim), {"values": {"a": 2, "b": 5, "c": False}})["verdict"] == "reproduced"
    assert evaluate(["x", "!=", 3], {"x": 3}) == (False, "x 3 != 3: no")


@pytest.mark.parametrize("values", [{}, {"raw": 0.1, "rollout": None, "flow": 0.2}, {"raw": math.nan, "rollout": 1, "flow": 2}])
def test_missing_values_are_not_judged(values):
    row = judge(entry(ORDER), {"values": values})
    assert row["verdict"] == "not comparable" and "missing" in row["detail"]


def test_qualitative_untestable_and_not_run():
    q = entry({"kind": "qualitative", "finding": "maps look focused"}, marker="none")
    assert judge(q, {"ours": "entropy 2.1"})["verdict"] == "qualitative"
    # a stand-in that cannot test the claim says why; the judge says not comparable, whatever the claim
    assert judge(entry(ORDER), {"values": {"raw": 0, "rollout": 1, "flow": 2}, "untestable": "no MLM head"}) == {
        **judge(entry(ORDER), {"untestable": "no MLM head"})}
    row = judge(entry(ORDER), {"untestable": "no MLM head"})
    assert row["verdict"] == "not comparable" and "no MLM head" in row["detail"]
    u = entry({"kind": "untestable", "why": "needs BERT-base on FrameNet"})
    assert judge(u, {"ours": "x"})["verdict"] == "not comparable"
    row = judge(entry(ORDER), not_run="needs the hub (config/paper.yaml)")
    assert row["verdict"] == "not run" and row["detail"] == "needs the hub (config/paper.yaml)" and row["ours"] == ""


def test_paper_column_from_the_target_when_given():
    row = judge(entry(ORDER), {"values": {"raw": 0, "rollout": 1, "flow": 2}, "paper": "mean rho over L4-L6: ..."})
    assert row["paper"] == "mean rho over L4-L6: ..."


@pytest.mark.parametrize("bad", [
    {"marker": "exact"},                                                     # no claim
    {"marker": "sure", "claim": {"kind": "qualitative"}},                    # unknown marker
    {"marker": "exact", "claim": {"kind": "vibes"}},                         # unknown kind
    {"marker": "exact", "claim": {"kind": "compare"}},                       # no conditions
    {"marker": "exact", "claim": {"kind": "compare", "all": [], "any": []}},  # both
])
def test_malformed_entries(bad):
    with pytest.raises(ClaimError):
        check_entry("x", bad)


def test_malformed_condition():
    with pytest.raises(ClaimError):
        judge(entry({"kind": "compare", "all": [["a", "=>", 1]]}), {"values": {"a": 1}})
