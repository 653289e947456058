"""lmlab: the numpy code behind LM Lab, a live book about how language models work.

One module per concept, in the order the book teaches them. Every function is plain numpy
so that a reader can open it and follow the math.
"""

__version__ = "0.1.0"
