"""Importers: CSV / Parquet / Polygon flat files / LOBSTER to validated recordings."""
