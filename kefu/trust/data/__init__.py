"""Data files of the secret guard (a package so that the wheel ships them)."""
