"""Indicators: one catalogue, one engine, small-cell suppression and the donor table."""
