"""Ridge-LDL: an example of a method shipped in its own package (see ../README.md)."""
from .ridge import RidgeLDL

__all__ = ["RidgeLDL"]
