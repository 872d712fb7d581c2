"""A subscriber's library: papers they know, and the day's papers most like them (issue 17).

``similarity`` and ``combine`` are pure (no ORM), shared by the planner, the live preview,
``preview_query --like`` and the benchmarks; ``parse`` reads BibTeX/RIS/pasted ids, ``resolve`` turns
them into papers, ``services`` writes a library and ``selectors`` reads it.
"""
