"""Parallel EN-X segment pairs from the LibreOffice help (Debian ``libreoffice-help-*`` packages, MPL-2.0).

Every help page exists in every language under the same path (``help/<lang>/text/...html``) and every
paragraph or heading carries the same ``id="par_id..."`` / ``id="hd_id..."`` in all of them, so the pair
(file path, id) aligns human translations exactly, with no aligner.

* :func:`extract_segments` reads the ``<p>``/``<h*>``/``<td>`` elements with such an id of one language tree;
* :func:`align` pairs two trees, filters (3-30 English words, menu paths such as "Choose Insert - Field"
  dropped, untranslated segments dropped) and de-duplicates (one pair per English segment);
* :func:`load_pairs` reads the shipped ``en-<x>.tsv.gz`` (``source<TAB>target``) and validates every line
  (a malformed line raises :class:`CorpusError` naming the file and the line).

Rebuild the shipped files (any OS with Debian/Ubuntu's ``apt-get download`` and ``dpkg -x``, no root)::

    sh scripts/build_libreoffice_corpus.sh          # or, with the packages unpacked under DIR:
    python -m replicate.data.libreoffice --root DIR --langs ru de es --out src/replicate/resources/libreoffice
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

RESOURCE = Path(__file__).resolve().parents[1] / "resources" / "libreoffice"
LANG_DIR = {"en": "en-US", "ru": "ru", "de": "de", "es": "es", "fr": "fr"}
_ID = re.compile(r"^(par_id|hd_id)\w+$")
_BLOCK = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "td", "li"}
_SPACE = re.compile(r"\s+")
_MENU_ARROW = re.compile(r"\S - \S")


class CorpusError(ValueError):
    """A missing or malformed parallel corpus file (the message names the file and the line)."""


class _Segments(HTMLParser):
    """Text of every block element with a par_id/hd_id; ``menu`` marks those with a menu path."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: dict[str, list] = {}
        self.stack: list = []  # open id'd blocks: [id, tag, pieces, menu, depth]

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in _BLOCK and _ID.match(a.get("id") or ""):
            self.stack.append([a["id"], tag, [], False, 0])
            return
        if self.stack:
            if tag == self.stack[-1][1]:
                self.stack[-1][4] += 1
            if tag == "span" and "menuitem" in (a.get("class") or ""):
                self.stack[-1][3] = "menu"  # resolved at the end: only menu items with " - " are paths
            if tag == "br":
                self.stack[-1][2].append(" ")

    def handle_endtag(self, tag):
        if not self.stack or tag != self.stack[-1][1]:
            return
        if self.stack[-1][4]:
            self.stack[-1][4] -= 1
            return
        sid, _, pieces, menu, _ = self.stack.pop()
        text = _SPACE.sub(" ", "".join(pieces)).strip()
        self.out.setdefault(sid, []).append((text, menu))
        if self.stack:  # nested id'd block: its text belongs to the parent too
            self.stack[-1][2].append(" " + text + " ")

    def handle_data(self, data):
        if self.stack:
            self.stack[-1][2].append(data)


def extract_segments(html_text: str) -> dict[str, tuple[str, bool]]:
    """``id -> (text, is_menu_path)`` of one help page; ids that occur more than once are dropped."""
    p = _Segments()
    p.feed(html_text)
    p.close()
    out = {}
    for sid, items in p.out.items():
        if len(items) != 1:
            continue
        text, menu = items[0]
        text = html.unescape(text)
        out[sid] = (text, bool(menu) and bool(_MENU_ARROW.search(text)) or text.startswith("Choose "))
    return out


def help_files(root: Path, lang: str) -> dict[str, Path]:
    """Relative path (``text/...html``) -> file, for the unpacked package of ``lang`` under ``root``."""
    base = Path(root) / "usr/share/libreoffice/help" / LANG_DIR.get(lang, lang)
    if not base.is_dir():
        raise CorpusError(f"no LibreOffice help for {lang!r} at {base}: run `apt-get download "
                          f"libreoffice-help-{LANG_DIR.get(lang, lang).lower()}` and `dpkg -x PKG.deb {root}`")
    return {str(p.relative_to(base)): p for p in sorted(base.rglob("*.html"))}


def align(src_root, tgt_root, src_lang: str = "en", tgt_lang: str = "ru", min_words: int = 3,
          max_words: int = 30) -> tuple[list[tuple[str, str]], dict]:
    """Aligned, filtered, de-duplicated (source, target) pairs of two unpacked help trees, in (path, id)
    order, and the counts of each filtering step."""
    src_files, tgt_files = help_files(src_root, src_lang), help_files(tgt_root, tgt_lang)
    counts = {"files": 0, "aligned": 0, "menu": 0, "length": 0, "untranslated": 0, "duplicate": 0, "kept": 0}
    pairs, seen = [], set()
    for rel in sorted(set(src_files) & set(tgt_files)):
        counts["files"] += 1
        s = extract_segments(src_files[rel].read_text(encoding="utf-8", errors="replace"))
        t = extract_segments(tgt_files[rel].read_text(encoding="utf-8", errors="replace"))
        for sid in sorted(set(s) & set(t)):
            (stext, menu), (ttext, tmenu) = s[sid], t[sid]
            if not stext or not ttext:
                continue
            counts["aligned"] += 1
            if menu or tmenu:
                counts["menu"] += 1
                continue
            n = len(stext.split())
            if not (min_words <= n <= max_words) or len(ttext.split()) > 2 * max_words:
                counts["length"] += 1
                continue
            if stext == ttext:
                counts["untranslated"] += 1
                continue
            if stext in seen:
                counts["duplicate"] += 1
                continue
            seen.add(stext)
            pairs.append((stext.replace("\t", " "), ttext.replace("\t", " ")))
    counts["kept"] = len(pairs)
    return pairs, counts


def write_pairs_gz(pairs, path) -> str:
    """``source<TAB>target`` lines, gzip with a fixed mtime (byte-identical on rebuild); returns SHA-256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(f"{s}\t{t}\n" for s, t in pairs).encode("utf-8")
    with open(path, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return sha256(path)


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def corpus_path(pair: str, folder=None) -> Path:
    """The shipped file of ``pair`` (``en-ru``, ``en-de``, ``en-es``), or under ``folder``."""
    return Path(folder or RESOURCE) / f"{pair}.tsv.gz"


def load_pairs(path, check_manifest: bool = True) -> list[tuple[str, str]]:
    """Read and validate a ``source<TAB>target`` corpus (gzip or plain): every line has exactly two
    non-empty fields; with a manifest beside it (``MANIFEST.json``) the SHA-256 must match."""
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"parallel corpus {path} is missing: it ships with the repository "
                          "(src/replicate/resources/libreoffice); rebuild it with scripts/build_libreoffice_corpus.sh")
    manifest = path.parent / "MANIFEST.json"
    if check_manifest and manifest.is_file():
        files = json.loads(manifest.read_text(encoding="utf-8")).get("files", {})
        if path.name in files and files[path.name]["sha256"] != sha256(path):
            raise CorpusError(f"{path}: SHA-256 differs from {manifest} (a modified or truncated file); "
                              "restore it from git or rebuild with scripts/build_libreoffice_corpus.sh")
    opener = gzip.open if path.suffix == ".gz" else open
    rows = []
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
                    raise CorpusError(f"{path}:{n}: malformed line (expected 'source<TAB>target', both non-empty): "
                                      f"{line[:80]!r}")
                rows.append((parts[0], parts[1]))
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise CorpusError(f"{path}: unreadable ({e}); restore it from git or rebuild it") from e
    if not rows:
        raise CorpusError(f"{path}: empty corpus")
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True, help="folder with one unpacked package per language: ROOT/<lang>/usr/...")
    ap.add_argument("--langs", nargs="+", default=["ru", "de", "es"])
    ap.add_argument("--out", default=str(RESOURCE))
    ap.add_argument("--versions", default="{}", help="JSON: package -> Debian version (for the manifest)")
    ap.add_argument("--release", default="", help="the Debian release the packages came from")
    a = ap.parse_args(argv)
    root, out = Path(a.root), Path(a.out)
    manifest = {"source": "Debian libreoffice-help-* packages (help/<lang>/text/**/*.html), aligned by (path, par_id/hd_id)",
                "licence": "MPL-2.0 (see NOTICE)", "release": a.release, "packages": json.loads(a.versions),
                "filters": "3-30 English words; menu paths dropped; untranslated dropped; one pair per English segment",
                "files": {}}
    for lang in a.langs:
        pairs, counts = align(root / "en", root / lang, "en", lang)
        name = f"en-{lang}.tsv.gz"
        digest = write_pairs_gz(pairs, out / name)
        manifest["files"][name] = {"sha256": digest, "pairs": len(pairs), "counts": counts}
        print(f"en-{lang}: {counts}", file=sys.stderr)
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
