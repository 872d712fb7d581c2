"""Library exports as the tools write them (shapes copied from real Zotero, Google Scholar, arXiv and
Mendeley exports; the papers are real, the abstracts shortened)."""

ZOTERO_BIBTEX = r"""
@misc{kaplan_scaling_2020,
	title = {Scaling {Laws} for {Neural} {Language} {Models}},
	url = {http://arxiv.org/abs/2001.08361},
	doi = {10.48550/arXiv.2001.08361},
	abstract = {We study empirical scaling laws for language model performance on the cross-entropy loss.},
	publisher = {arXiv},
	author = {Kaplan, Jared and McCandlish, Sam and Henighan, Tom},
	month = jan,
	year = {2020},
	note = {arXiv:2001.08361 [cs]},
	keywords = {Computer Science - Machine Learning},
}

@inproceedings{dao_flashattention-2_2023,
	title = {{FlashAttention}-2: {Faster} {Attention} with {Better} {Parallelism} and {Work} {Partitioning}},
	author = {Dao, Tri},
	year = {2023},
	eprint = {2307.08691},
	archivePrefix = {arXiv},
	abstract = {The attention layer is the main bottleneck in scaling Transformers to longer sequences.},
}
"""

# Google Scholar: no abstract, no identifier; the title is all there is.
SCHOLAR_BIBTEX = r"""@article{hoffmann2022training,
  title={Training compute-optimal large language models},
  author={Hoffmann, Jordan and Borgeaud, Sebastian and Mensch, Arthur},
  journal={arXiv preprint arXiv:2203.15556},
  year={2022}
}
"""

BROKEN_BIBTEX = r"""@article{good2020,
  title={A Perfectly Fine Entry},
  year={2020}
}

@article{broken2021,
  title = {An entry whose brace never closes,
  year = {2021}
}
@article{after2022,
  title={Another Fine Entry},
  year={2022}
}
"""

UNTITLED_BIBTEX = r"""@article{nothing2020,
  author={Someone, Anne},
  year={2020}
}
"""

MENDELEY_RIS = """TY  - JOUR
AU  - Kaplan, Jared
AU  - McCandlish, Sam
TI  - Scaling Laws for Neural Language Models
PY  - 2020
AB  - We study empirical scaling laws for language model performance on the cross-entropy loss.
UR  - https://arxiv.org/abs/2001.08361
ER  -

TY  - CONF
AU  - Vaswani, Ashish
TI  - Attention Is All You Need
PY  - 2017
DO  - 10.48550/arXiv.1706.03762
ER  -
"""

RIS_WITHOUT_END = """TY  - JOUR
TI  - First Paper
ER  -

TY  - JOUR
TI  - Second Paper, never ended
PY  - 2021
"""
