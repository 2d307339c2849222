"""Ingestion: raw files (Kobo/ODK exports, SPSS, CSV, sign-in sheets) into the warehouse.

Every raw row is loaded or quarantined with a reason; a file that cannot be read is rejected
whole and leaves the warehouse as it was; the same file loaded twice changes nothing.
"""
