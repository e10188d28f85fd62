"""Cited data tables (CSV/JSON); see SOURCES.md beside them."""
