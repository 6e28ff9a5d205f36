"""Synthetic England: a realistic population of children and the noisy feeds about them.

Everything that measures ContactPoint (identity resolution precision and recall,
search, coverage of the children hardest to reach) and the demo run on this data,
so it is built to behave like the real thing: England's age structure, families
with twins and step-parents, names with their real frequencies and diversity,
moves and surname changes, the children most easily missed, and four sources
each with its own coverage and its own kinds of error. See docs/synthetic-data.md.
"""

from contactpoint.synth.writer import SynthSummary, write_synthetic_feeds

__all__ = ["SynthSummary", "write_synthetic_feeds"]
