"""ContactPoint: the national index of children in England.

Who a child is, where they live, and which practitioners work with them, held so
that a stolen copy reveals nothing and every look-up is justified and audited.
"""

__version__ = "0.1.0"
