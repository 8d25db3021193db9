"""Model registry shared by the ML services: versioned artefacts in a file or object store,
metadata and backtest scores in PostgreSQL.
"""
