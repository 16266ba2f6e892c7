"""Sequence Lab desktop: everything Qt. Imports engine, never the other way round."""
