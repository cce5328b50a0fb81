"""Dependency probing of heads (Clark et al. 2019): word-level maps, predictions, best heads, baseline."""

import numpy as np
import pytest

from replicate.methods import syntax


def test_word_level_sums_to_pieces_and_averages_from_pieces():
    # tokens: [CLS] a b1 b2 [SEP]; words: a = 0, b = 1 (b split into two pieces)
    a = np.arange(25, dtype=float).reshape(5, 5) / 100
    w = syntax.word_level(a, [None, 0, 1, 1, None])
    expected = np.array([
        [a[1, 1], a[1, 2] + a[1, 3]],
        [(a[2, 1] + a[3, 1]) / 2, (a[2, 2] + a[2, 3] + a[3, 2] + a[3, 3]) / 2],
    ])
    np.testing.assert_allclose(w, expected)
    # leading axes (layer, head) are kept; negative ids count as special tokens
    stacked = syntax.word_level(np.stack([a, 2 * a])[None], [-1, 0, 1, 1, -1])
    assert stacked.shape == (1, 2, 2, 2)
    np.testing.assert_allclose(stacked[0, 1], 2 * expected)


def test_word_level_keeps_row_sums_without_specials():
    rng = np.random.default_rng(0)
    a = rng.dirichlet(np.ones(4), size=4)  # no special tokens: rows still sum to one
    np.testing.assert_allclose(syntax.word_level(a, [0, 0, 1, 2]).sum(-1), 1.0)
    with pytest.raises(ValueError):
        syntax.word_level(a, [0, 0, 2, 2])  # word 1 has no token


def test_head_predictions_never_pick_the_word_itself():
    m = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.0, 0.4, 0.6]])
    assert syntax.head_predictions(m).tolist() == [1, 0, 1]


SENTS = [  # "the cat sat" (det, nsubj, root) and "dogs bark loudly ." (nsubj, root, advmod, punct)
    {"words": ["the", "cat", "sat"], "heads": [2, 3, 0], "deprels": ["det", "nsubj", "root"]},
    {"words": ["dogs", "bark", "loudly", "."], "heads": [2, 0, 2, 2], "deprels": ["nsubj", "root", "advmod", "punct"]},
]


def parse_map(sent):
    w = len(sent["words"])
    m = np.full((w, w), 0.1)
    for d, h in enumerate(sent["heads"]):
        if h > 0:
            m[d, h - 1] = 1.0
    return m


def test_best_head_finds_the_head_that_is_the_parse():
    rng = np.random.default_rng(1)
    maps = []
    for sent in SENTS:
        w = len(sent["words"])
        m = rng.dirichlet(np.ones(w), size=(2, 3, w))  # (layers 2, heads 3, W, W)
        for d in range(w):
            m[1, 0, d, d] = 5.0  # weight on the word itself is ignored
        m[1, 2] = parse_map(sent)  # layer 2, head 3 is exactly the parse
        maps.append(m)
    acc = syntax.relation_accuracy([syntax.head_predictions(m) for m in maps], SENTS)
    assert set(acc) == {"det", "nsubj", "advmod", "punct", syntax.ALL}  # root arcs skipped
    assert acc[syntax.ALL][1] == 5 and acc["nsubj"][1] == 2
    best = syntax.best_heads(acc)
    for rel, (idx, value, _) in best.items():
        assert value == 1.0
    assert best[syntax.ALL][0] == (1, 2)
    assert np.all(acc[syntax.ALL][0] <= 1.0)
    # min_count drops rare relations but never the pooled row
    assert set(syntax.relation_accuracy([syntax.head_predictions(m) for m in maps], SENTS, min_count=2)) == {
        "nsubj", syntax.ALL}


def test_offset_baseline_by_hand():
    base = syntax.offset_baseline(SENTS)
    # arcs (dependent -> head offset): det +1, nsubj +1, nsubj +1, advmod -1, punct -2
    assert base["det"] == (1, 1.0, 1)
    assert base["nsubj"] == (1, 1.0, 2)
    assert base["punct"] == (-2, 1.0, 1)
    assert base[syntax.ALL] == (1, 3 / 5, 5)
    tie = [{"words": list("abcd"), "heads": [2, 0, 2, 2], "deprels": ["x", "root", "x", "x"]}]  # offsets +1, -1, -2
    assert syntax.offset_baseline(tie)["x"] == (-1, 1 / 3, 3)  # ties: closest to 0, then negative


def test_piece_word_ids_maps_sentencepiece_pieces_to_parser_tokens():
    from replicate.methods.syntax import piece_word_ids

    text = "Click the button, then wait."
    # parser tokens: Click | the | button | , | then | wait | .
    starts = [0, 6, 10, 16, 18, 23, 27]
    pieces = ["\u2581Click", "\u2581the", "\u2581but", "ton", ",", "\u2581then", "\u2581wa", "it", "."]
    assert piece_word_ids(pieces, text, starts) == [0, 1, 2, 2, 3, 4, 5, 5, 6, -1]
    # a parser token without a piece, or pieces that do not spell the words: no alignment
    assert piece_word_ids(pieces, text, starts + [28]) is None
    assert piece_word_ids(["\u2581Click", "\u2581th"], "Click the", [0, 6]) is None
