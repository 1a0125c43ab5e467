"""The matcher's pure core: hard filters, scoring, reasons, the in-memory index and the
de-duplication rules of the ledger.

Standard library, numpy and `koppel.vocabulary` only; no I/O.
"""
