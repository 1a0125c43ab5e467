"""The matcher's pure core: hard filters, scoring, reasons and the in-memory index.

Standard library, numpy and `koppel.vocabulary` only; no I/O.
"""
