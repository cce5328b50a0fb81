"""The LibreOffice help parallel corpus: extraction and alignment on a tiny two-language fixture, the shipped
files against their manifest, and clear errors for a missing or malformed corpus."""

import gzip
import json

import pytest

from replicate.data import libreoffice as lo

EN = """<html><body><h1 id="hd_id1" dir="auto">Proxy server settings</h1>
<p id="par_id2" class="paragraph">Proxy servers for <a href="x.html">accessing the Internet</a> can be set up manually.</p>
<p id="par_id3" class="paragraph">Choose <span class="menuitem">Tools - Options - Internet</span></p>
<p id="par_id4" class="paragraph">Too short</p>
<p id="par_id5" class="paragraph">The same text appears here twice.</p>
<p id="par_id6" class="paragraph">The same text appears here twice.</p>
<p id="par_id7" class="paragraph">Only in English, never translated here.</p>
<p id="par_id8" class="paragraph">Kept as is in the other language.</p>
<p id="par_id9" class="paragraph">Dup id one.</p><p id="par_id9" class="paragraph">Dup id two.</p>
</body></html>"""
RU = """<html><body><h1 id="hd_id1" dir="auto">Параметры прокси</h1>
<p id="par_id2" class="paragraph">Прокси-серверы для <a href="x.html">доступа в Интернет</a> настраиваются вручную.</p>
<p id="par_id3" class="paragraph">Выберите <span class="menuitem">Сервис - Параметры - Интернет</span></p>
<p id="par_id4" class="paragraph">Слишком коротко</p>
<p id="par_id5" class="paragraph">Тот же текст дважды.</p>
<p id="par_id6" class="paragraph">Тот же текст дважды, второй раз.</p>
<p id="par_id8" class="paragraph">Kept as is in the other language.</p>
<p id="par_id9" class="paragraph">Раз.</p><p id="par_id9" class="paragraph">Два.</p>
</body></html>"""


def _tree(root, lang_dir, files):
    for rel, text in files.items():
        p = root / "usr/share/libreoffice/help" / lang_dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


def test_extract_segments_text_and_menu():
    seg = lo.extract_segments(EN)
    assert seg["par_id2"] == ("Proxy servers for accessing the Internet can be set up manually.", False)
    assert seg["par_id3"][1] is True  # a menu path
    assert "par_id9" not in seg  # duplicated id in the file: ambiguous, dropped


def test_align_fixture(tmp_path):
    _tree(tmp_path / "en", "en-US", {"text/shared/a.html": EN, "text/shared/only_en.html": EN})
    _tree(tmp_path / "ru", "ru", {"text/shared/a.html": RU})
    pairs, counts = lo.align(tmp_path / "en", tmp_path / "ru", "en", "ru")
    assert pairs[0] == ("Proxy server settings", "Параметры прокси")  # (path, id) order
    assert ("Proxy servers for accessing the Internet can be set up manually.",
            "Прокси-серверы для доступа в Интернет настраиваются вручную.") in pairs
    assert ("The same text appears here twice.", "Тот же текст дважды.") in pairs
    assert len(pairs) == 3  # menu path, too short, duplicate English, untranslated and unaligned ids dropped
    assert counts["files"] == 1 and counts["menu"] == 1 and counts["length"] == 1
    assert counts["untranslated"] == 1 and counts["duplicate"] == 1 and counts["kept"] == 3
    # round trip through the shipped format, byte-identical on rewrite
    h1 = lo.write_pairs_gz(pairs, tmp_path / "out" / "en-ru.tsv.gz")
    assert lo.load_pairs(tmp_path / "out" / "en-ru.tsv.gz") == pairs
    assert lo.write_pairs_gz(pairs, tmp_path / "out" / "en-ru.tsv.gz") == h1


def test_missing_language_tree(tmp_path):
    with pytest.raises(lo.CorpusError, match="apt-get download libreoffice-help-ru"):
        lo.help_files(tmp_path, "ru")


def test_shipped_corpora_match_manifest():
    manifest = json.loads((lo.RESOURCE / "MANIFEST.json").read_text(encoding="utf-8"))
    assert manifest["packages"] and manifest["release"]
    assert (lo.RESOURCE / "NOTICE").is_file()
    for name, entry in manifest["files"].items():
        assert lo.sha256(lo.RESOURCE / name) == entry["sha256"]
    rows = lo.load_pairs(lo.corpus_path("en-ru"))
    assert len(rows) == manifest["files"]["en-ru.tsv.gz"]["pairs"]
    assert all(3 <= len(s.split()) <= 30 for s, _ in rows)


def test_malformed_corpus_names_file_and_line(tmp_path):
    p = tmp_path / "en-xx.tsv.gz"
    with gzip.open(p, "wt", encoding="utf-8") as fh:
        fh.write("one two three\tраз два три\nno tab on this line\n")
    with pytest.raises(lo.CorpusError, match=r"en-xx\.tsv\.gz:2: malformed"):
        lo.load_pairs(p)
    with pytest.raises(lo.CorpusError, match="missing"):
        lo.load_pairs(tmp_path / "absent.tsv.gz")
    (tmp_path / "MANIFEST.json").write_text(json.dumps({"files": {"en-xx.tsv.gz": {"sha256": "0" * 64}}}))
    with pytest.raises(lo.CorpusError, match="SHA-256"):
        lo.load_pairs(p)
