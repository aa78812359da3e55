"""The version of audioprep: one constant, imported by whatever names itself to others."""

__version__ = "0.1.0"
