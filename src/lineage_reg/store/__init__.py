"""Persistence: tables, the database handle and the SQL each aggregate needs."""
