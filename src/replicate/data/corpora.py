"""Readers of real, offline text: no model hub or data hub is needed.

Sources
-------
* The data files shipped inside the ``gensim==4.4.0`` wheel, in
  ``gensim/test/test_data`` (found with :func:`importlib.util.find_spec`, so
  gensim itself is only imported where a reader needs its code):

  - :func:`wikipedia_paragraphs`: the shortened English Wikipedia XML dump
    (206 pages, 107 of them non-redirect articles) turned into prose paragraphs;
  - :func:`lee_documents`: the 300 Lee et al. (2005) background news documents;
  - :func:`pang_lee_sentences`: 200 Pang & Lee polarity sentences (cp1252!).

* Local GLUE-style TSV files (:func:`read_labelled_tsv`) and CoNLL-U treebanks
  (:func:`read_conllu`), e.g. the optional sets under ``shared/data/``.  These
  readers only read; nothing here ever writes next to its inputs.

Every reader returns plain Python lists in a deterministic order (file order).
A missing input raises :class:`MissingAssetError` (a ``FileNotFoundError``)
whose message says what is missing and how to get it; a malformed line raises
``ValueError`` whose message starts with ``path:lineno``.
"""

from __future__ import annotations

import bz2
import functools
import importlib.util
import math
import os
import re
from pathlib import Path

__all__ = [
    "MissingAssetError",
    "GENSIM_INSTALL_HINT",
    "WIKI_SAMPLE",
    "gensim_test_data",
    "wikipedia_paragraphs",
    "wiki_text_to_paragraphs",
    "lee_documents",
    "pang_lee_sentences",
    "read_labelled_tsv",
    "read_conllu",
]

GENSIM_INSTALL_HINT = "pip install gensim==4.4.0"
WIKI_SAMPLE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
LEE_BACKGROUND = "lee_background.cor"
PANG_LEE = "pang_lee_polarity.cor"


class MissingAssetError(FileNotFoundError):
    """An offline input (package data file, local data set, model package) is missing.

    The message names the missing thing and the command or path that provides it.
    """


# --------------------------------------------------------------------------- gensim data


def gensim_test_data() -> Path:
    """Return the ``gensim/test/test_data`` folder of the installed gensim wheel.

    gensim is located with :func:`importlib.util.find_spec` and is *not* imported.
    Raises :class:`MissingAssetError` (mentioning ``pip install gensim==4.4.0``)
    when gensim is not installed or its wheel lacks the test data folder.
    """
    try:
        spec = importlib.util.find_spec("gensim")
    except (ImportError, ValueError):  # pragma: no cover - broken installs
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise MissingAssetError(
            f"gensim is not installed, so its bundled test data cannot be read; "
            f"run `{GENSIM_INSTALL_HINT}`"
        )
    folder = Path(list(spec.submodule_search_locations)[0]) / "test" / "test_data"
    if not folder.is_dir():
        raise MissingAssetError(
            f"gensim is installed but {folder} does not exist; "
            f"reinstall the wheel with `{GENSIM_INSTALL_HINT}`"
        )
    return folder


def _gensim_file(name: str) -> Path:
    path = gensim_test_data() / name
    if not path.is_file():
        raise MissingAssetError(
            f"{path} is missing from the gensim wheel; reinstall with `{GENSIM_INSTALL_HINT}`"
        )
    return path


# --------------------------------------------------------------------------- Wikipedia

# Characters that start a line that is wiki structure rather than prose once
# gensim's ``filter_wiki`` has run: headings, list items, definition lists,
# indents, tables, leftover templates/tags.
_MARKUP_START = tuple("=*#:;|!{}<[")
_HEADING = re.compile(r"^=+.*=+$")
_BOLD_ITALIC = re.compile(r"'{2,}")
_SPACES = re.compile(r"[ \t\u00a0]+")
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*$")
_BLANK_LINES = re.compile(r"\n[ \t]*\n")

#: A kept line has at least this many whitespace-separated words.
MIN_PARAGRAPH_WORDS = 8
#: ... and at least this share of its non-space characters are letters.
MIN_ALPHA_SHARE = 0.6


def _is_prose_line(line: str) -> bool:
    if not line or line.startswith(_MARKUP_START) or _HEADING.match(line):
        return False
    if not (line[0].isalnum() or line[0] in "\"'(\u201c\u2018"):
        return False  # starts mid-sentence: a formula or template was cut out
    if len(line.split()) < MIN_PARAGRAPH_WORDS:
        return False
    if not _SENTENCE_END.search(line):  # captions, list headers ending in ':' etc.
        return False
    chars = [c for c in line if not c.isspace()]
    alpha = sum(c.isalpha() for c in chars)
    return alpha >= MIN_ALPHA_SHARE * len(chars)


def wiki_text_to_paragraphs(plain: str) -> list[str]:
    """Split the output of gensim's ``filter_wiki`` into prose paragraphs.

    Rules (in order):

    1. remove bold/italic quote runs (``'''x'''`` -> ``x``);
    2. split on blank lines into blocks;
    3. inside a block, drop every line that is markup or not prose: headings
       (``== x ==``), lines starting with ``* # : ; | ! { } < [`` (lists of links,
       indents, tables, leftover tags), lines that start with neither a letter,
       a digit, an opening quote nor ``(`` (what is left after a formula was
       cut out), lines with fewer than
       :data:`MIN_PARAGRAPH_WORDS` words, lines that do not end a sentence
       (``.``, ``!`` or ``?``, optionally followed by closing quotes/brackets:
       this drops image captions and "... wrote:" lead-ins), and lines whose
       letters are less than :data:`MIN_ALPHA_SHARE` of their characters;
    4. join the surviving lines of a block with a space and collapse whitespace.
    """
    plain = _BOLD_ITALIC.sub("", plain.replace("\r", ""))
    paragraphs: list[str] = []
    for block in _BLANK_LINES.split(plain):
        lines = [_SPACES.sub(" ", ln).strip() for ln in block.split("\n")]
        kept = [ln for ln in lines if _is_prose_line(ln)]
        if kept:
            paragraphs.append(" ".join(kept))
    return paragraphs


def _is_redirect(text: str) -> bool:
    return text.lstrip().lower().startswith("#redirect")


@functools.lru_cache(maxsize=2)
def _wikipedia_paragraphs_cached(path_str: str) -> tuple[str, ...]:
    try:
        from gensim.corpora.wikicorpus import extract_pages, filter_wiki
    except ImportError as exc:  # pragma: no cover - gensim found but broken
        raise MissingAssetError(
            f"gensim could not be imported ({exc}); run `{GENSIM_INSTALL_HINT}`"
        ) from exc
    out: list[str] = []
    with bz2.open(path_str, "rb") as fh:
        # Namespace 0 = articles (no Talk:, User:, File: ... pages).
        for _title, text, _pageid in extract_pages(fh, filter_namespaces=("0",)):
            if not text or _is_redirect(text):
                continue
            plain = filter_wiki(text)
            if _is_redirect(plain):
                continue
            out.extend(wiki_text_to_paragraphs(plain))
    return tuple(out)


def wikipedia_paragraphs() -> list[str]:
    """Prose paragraphs of every non-redirect article in gensim's Wikipedia sample.

    Pages come in dump order (Anarchism, Autism, Albedo, ...) and paragraphs in
    page order.  Redirect pages (``#REDIRECT ...``) are skipped; the wiki markup
    is removed with gensim's ``extract_pages`` + ``filter_wiki`` and then
    cleaned with :func:`wiki_text_to_paragraphs`.  This imports gensim.  The
    result is cached per process (about 1 s to build); a fresh list is returned.
    """
    return list(_wikipedia_paragraphs_cached(str(_gensim_file(WIKI_SAMPLE))))


# --------------------------------------------------------------------------- Lee, Pang & Lee


def lee_documents() -> list[str]:
    """The 300 Lee et al. (2005) background documents, one per line of ``lee_background.cor``.

    Lines are stripped; empty lines are skipped.
    """
    raw = _gensim_file(LEE_BACKGROUND).read_bytes().decode("utf-8", errors="replace")
    return [ln.strip() for ln in raw.splitlines() if ln.strip()]


_PANG_LEE_LABELS = {"__label__pos": 1, "__label__neg": 0}


def pang_lee_sentences() -> list[tuple[str, int]]:
    """The 200 Pang & Lee polarity sentences as ``(sentence, label)``; 1 = positive, 0 = negative.

    The file is cp1252, not UTF-8.  Each line is ``__label__pos`` or
    ``__label__neg``, a space, then the tokenised sentence.
    """
    path = _gensim_file(PANG_LEE)
    text = path.read_bytes().decode("cp1252", errors="replace")
    out: list[tuple[str, int]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        tag, _, sentence = line.partition(" ")
        if tag not in _PANG_LEE_LABELS:
            raise ValueError(f"{path}:{lineno}: unknown label {tag!r}")
        sentence = sentence.strip()
        if not sentence:
            raise ValueError(f"{path}:{lineno}: empty sentence")
        out.append((sentence, _PANG_LEE_LABELS[tag]))
    return out


# --------------------------------------------------------------------------- local files


def _require_file(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.is_file():
        raise MissingAssetError(f"data file not found: {p}")
    return p


def _parse_int(value: str) -> int | None:
    value = value.strip()
    if re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    return None


def parse_label(value: str, regression: bool = False) -> int | float | None:
    """A class label (an integer) or, for a regression task, a finite float score; None if
    ``value`` is neither."""
    if not regression:
        return _parse_int(value)
    try:
        x = float(value.strip())
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _label_kind(regression: bool) -> str:
    return "a number (regression task)" if regression else "an integer"


def read_labelled_tsv(
    path: str | os.PathLike,
    label_first: bool,
    header: bool | None = None,
    regression: bool = False,
) -> list[tuple[str, int | float]]:
    """Read a two-column GLUE-style TSV file as ``(sentence, label)`` pairs.

    ``label_first`` gives the column order and must be told, never guessed:
    ``True`` for ``label<TAB>sentence`` (e.g. ``shared/data/sst2``), ``False``
    for ``sentence<TAB>label`` (e.g. ``shared/data/cola``).

    ``header``: ``True`` skips the first line, ``False`` reads it as data, and
    ``None`` (default) skips the first line only when its label cell is not an
    integer (e.g. ``label``), which is safe because a data line must have one.

    Blank lines are skipped.  Any other line must have exactly two
    tab-separated columns, an integer label (a float score when ``regression``)
    and a non-empty sentence; else ``ValueError("path:lineno: ...")``.  A
    missing file raises :class:`MissingAssetError`.
    """
    p = _require_file(path)
    label_col, text_col = (0, 1) if label_first else (1, 0)
    out: list[tuple[str, int]] = []
    with p.open("r", encoding="utf-8", newline="") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            cells = line.split("\t")
            if lineno == 1 and header is not False:
                if header is True:
                    continue
                if len(cells) == 2 and parse_label(cells[label_col], regression) is None:
                    continue  # auto-detected header line
            if not line.strip():
                continue
            if len(cells) != 2:
                raise ValueError(
                    f"{p}:{lineno}: expected 2 tab-separated columns, got {len(cells)}"
                )
            label = parse_label(cells[label_col], regression)
            if label is None:
                raise ValueError(f"{p}:{lineno}: label {cells[label_col]!r} is not {_label_kind(regression)}")
            sentence = cells[text_col].strip()
            if not sentence:
                raise ValueError(f"{p}:{lineno}: empty sentence")
            out.append((sentence, label))
    return out


def read_tsv_columns(
    path: str | os.PathLike,
    text_columns: list[int],
    label_column: int,
    header: bool | None = None,
    regression: bool = False,
) -> list[tuple]:
    """Read a many-column GLUE TSV file (e.g. STS-B's ``dev.tsv``: sentences in columns -3 and
    -2, the 0-5 score in the last) as ``(text, label)``; ``text`` is a pair of strings when two
    ``text_columns`` are given.  Column numbers count from 0, negative ones from the end.

    ``header`` as :func:`read_labelled_tsv` (``None``: skip the first line when its label cell
    is not a label).  A line with too few columns, a bad label or an empty sentence raises
    ``ValueError("path:lineno: ...")``; no quoting is interpreted (GLUE's files have none).
    """
    p = _require_file(path)
    cols = [*text_columns, label_column]
    need = max(max(c + 1 if c >= 0 else -c for c in cols), 2)
    out: list[tuple] = []
    with p.open("r", encoding="utf-8", newline="") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            cells = line.split("\t")
            if lineno == 1 and header is not False:
                if header is True or (len(cells) >= need and parse_label(cells[label_column], regression) is None):
                    continue
            if not line.strip():
                continue
            if len(cells) < need:
                raise ValueError(f"{p}:{lineno}: expected at least {need} tab-separated columns (columns {cols}), "
                                 f"got {len(cells)}")
            label = parse_label(cells[label_column], regression)
            if label is None:
                raise ValueError(f"{p}:{lineno}: label {cells[label_column]!r} (column {label_column}) is not "
                                 f"{_label_kind(regression)}")
            texts = tuple(cells[c].strip() for c in text_columns)
            if not all(texts):
                raise ValueError(f"{p}:{lineno}: empty sentence in columns {list(text_columns)}")
            out.append((texts if len(texts) == 2 else texts[0], label))
    return out


def read_conllu(path: str | os.PathLike) -> list[list[dict]]:
    """Read a CoNLL-U file into sentences of token dicts.

    Each token is ``{"id": int, "form": str, "upos": str, "xpos": str,
    "head": int, "deprel": str}`` (``head`` 0 = root; ids are 1-based as in the
    file).  Comment lines, multiword-token ranges (``3-4``) and empty nodes
    (``5.1``) are skipped; sentences are separated by blank lines.  A token line
    without 10 tab-separated columns, or with a non-integer id/head, raises
    ``ValueError("path:lineno: ...")``; a missing file raises
    :class:`MissingAssetError`.
    """
    p = _require_file(path)
    sentences: list[list[dict]] = []
    current: list[dict] = []
    with p.open("r", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                if current:
                    sentences.append(current)
                    current = []
                continue
            if line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 10:
                raise ValueError(f"{p}:{lineno}: expected 10 tab-separated columns, got {len(cols)}")
            tok_id = cols[0]
            if "-" in tok_id or "." in tok_id:
                continue  # multiword token range or empty node
            ident, head = _parse_int(tok_id), _parse_int(cols[6])
            if ident is None:
                raise ValueError(f"{p}:{lineno}: token id {tok_id!r} is not an integer")
            if head is None:
                raise ValueError(f"{p}:{lineno}: head {cols[6]!r} is not an integer")
            current.append(
                {
                    "id": ident,
                    "form": cols[1],
                    "upos": cols[3],
                    "xpos": cols[4],
                    "head": head,
                    "deprel": cols[7],
                }
            )
    if current:
        sentences.append(current)
    return sentences

