"""Our reading of the real samples in ../shared/formats (one recorded record of each source)."""

from __future__ import annotations

from datetime import UTC, datetime

from digest.ingest import arxiv, arxiv_rss, hf_daily
from digest.ingest.parsing import feed_parse, xml_parse
from tests.conftest import SHARED_DIR, shared_file

FORMATS = SHARED_DIR / "formats"


def sample(name: str) -> bytes:
    return shared_file(FORMATS / name).read_bytes()


def test_the_real_arxiv_api_entry_is_read_field_by_field():
    records, skipped, total = arxiv.page_parse(xml_parse(sample("arxiv_api_atom_sample.xml")))
    (record,) = records
    assert (skipped, total) == ([], 1)
    assert (record.arxiv_id, record.version) == ("hep-ex/0307015", 1)
    assert record.title == "Multi-Electron Production at High Transverse Momenta in ep Collisions at HERA"
    assert record.abstract.startswith("Multi-electron production is studied at high electron transverse momentum in")
    assert record.authors == ["H1 Collaboration"]
    assert (record.primary_category, record.categories) == ("hep-ex", ["hep-ex"])
    assert record.published == datetime(2003, 7, 7, 17, 46, 39, tzinfo=UTC)
    assert record.extra == {
        "comment": "23 pages, 8 figures and 4 tables",
        "journal_ref": "Eur.Phys.J. C31 (2003) 17-29",
    }


def test_the_real_arxiv_listing_entry_is_read_field_by_field():
    parsed = feed_parse(sample("arxiv_rss_atom_sample.xml"))
    record = arxiv_rss.entry_parse(parsed.entries[0])
    assert (record.arxiv_id, record.version, record.update_only) == ("2508.13426", 1, False)
    assert record.abstract.startswith("As large language models (LLMs) increasingly mediate")
    assert "Announce Type" not in record.abstract
    assert record.authors == ["Chunhua Liu", "Kabir Manandhar Shrestha", "Sukai Huang"]
    assert (record.primary_category, record.categories) == ("cs.CL", ["cs.CL", "cs.AI"])


def test_the_real_hugging_face_item_is_read_field_by_field():
    items = hf_daily.items_from_body(sample("hf_daily_papers_sample.json"))
    records, skipped = hf_daily.items_parse(items)
    (record,) = records
    assert skipped == []
    assert record.arxiv_id == "2410.17243"
    assert record.title == "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss"
    assert "\n" not in record.abstract
    assert record.authors == ["Zesen Cheng", "Hang Zhang"]
    assert (record.popularity, record.num_comments) == (64, 3)
    assert record.published == datetime(2024, 10, 22, 17, 59, 30, tzinfo=UTC)
    assert record.extra["hf_featured_at"] == "2024-10-25T00:57:09.392000+00:00"
    assert record.hf_url == "https://huggingface.co/papers/2410.17243"
