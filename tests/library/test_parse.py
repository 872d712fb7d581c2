"""Reading what subscribers hand in: BibTeX and RIS exports, pasted ids and links."""

from __future__ import annotations

import pytest

from digest.library.parse import (
    LibraryImportError,
    citations_from_bibtex,
    citations_from_identifiers,
    citations_from_ris,
    citations_from_upload,
)
from tests.library import samples


def test_a_zotero_bibtex_export_gives_titles_abstracts_and_arxiv_ids():
    kaplan, dao = citations_from_bibtex(samples.ZOTERO_BIBTEX)
    assert kaplan.title == "Scaling Laws for Neural Language Models"  # LaTeX braces gone
    assert kaplan.arxiv_id == "2001.08361" and kaplan.year == 2020
    assert kaplan.abstract.startswith("We study empirical scaling laws")
    assert kaplan.authors == ("Kaplan, Jared", "McCandlish, Sam", "Henighan, Tom")
    assert dao.arxiv_id == "2307.08691"  # from eprint + archivePrefix
    assert dao.title.startswith("FlashAttention-2: Faster Attention")


def test_a_google_scholar_entry_finds_the_arxiv_id_in_its_journal_field():
    (entry,) = citations_from_bibtex(samples.SCHOLAR_BIBTEX)
    assert entry.title == "Training compute-optimal large language models"
    assert entry.arxiv_id == "2203.15556"


def test_a_broken_bibtex_entry_is_named_by_its_line_and_nothing_is_returned():
    with pytest.raises(LibraryImportError) as err:
        citations_from_bibtex(samples.BROKEN_BIBTEX)
    assert "line 6" in str(err.value)
    assert len(err.value.problems) == 1


def test_an_entry_without_title_or_identifier_is_named_by_its_key():
    with pytest.raises(LibraryImportError, match=r"entry nothing2020 \(line 1\): no title, arXiv id or DOI"):
        citations_from_bibtex(samples.UNTITLED_BIBTEX)


def test_a_file_with_no_entries_says_what_bibtex_looks_like():
    with pytest.raises(LibraryImportError, match="no BibTeX entries"):
        citations_from_bibtex("just some words\n")


def test_a_mendeley_ris_export_is_read_with_arxiv_ids_from_links_and_dois():
    kaplan, vaswani = citations_from_ris(samples.MENDELEY_RIS)
    assert (kaplan.title, kaplan.arxiv_id, kaplan.year) == (
        "Scaling Laws for Neural Language Models",
        "2001.08361",
        2020,
    )
    assert kaplan.abstract.startswith("We study")
    assert vaswani.doi == "10.48550/arxiv.1706.03762" and vaswani.arxiv_id == "1706.03762"


def test_an_ris_record_that_never_ends_names_its_line():
    with pytest.raises(LibraryImportError, match="line 5: this record has no “ER  -” line"):
        citations_from_ris(samples.RIS_WITHOUT_END)


def test_a_stray_line_outside_any_record_is_named():
    with pytest.raises(LibraryImportError, match="line 1: expected “TY  - …”"):
        citations_from_ris("hello\nTY  - JOUR\nTI  - X\nER  - \n")


def test_pasted_ids_links_and_dois_are_all_recognised_once_each():
    found = citations_from_identifiers(
        "2001.08361, arXiv:2001.08361v3\nhttps://arxiv.org/abs/1706.03762v5 https://huggingface.co/papers/2307.08691\n"
        "https://doi.org/10.1145/3292500.3330701  hep-th/9901001"
    )
    assert [(c.arxiv_id, c.doi) for c in found] == [
        ("2001.08361", ""),
        ("1706.03762", ""),
        ("2307.08691", ""),
        ("", "10.1145/3292500.3330701"),
        ("hep-th/9901001", ""),
    ]


def test_pasted_text_that_is_not_an_id_is_named_with_its_line():
    with pytest.raises(LibraryImportError, match=r"line 2: 'attention' is not an arXiv id"):
        citations_from_identifiers("2001.08361\nattention is all you need")


def test_an_upload_is_read_as_bibtex_or_ris_by_its_name_or_its_content():
    assert citations_from_upload(name="My Library.bib", text=samples.ZOTERO_BIBTEX)[0] == "bibtex"
    assert citations_from_upload(name="export.ris", text=samples.MENDELEY_RIS)[0] == "ris"
    assert citations_from_upload(name="download", text=samples.MENDELEY_RIS)[0] == "ris"
    with pytest.raises(LibraryImportError, match="not a BibTeX"):
        citations_from_upload(name="paper.pdf", text="%PDF-1.7 binary")
