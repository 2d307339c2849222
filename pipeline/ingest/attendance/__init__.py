"""Attendance ingest: event lists and sign-in sheets -> staging and the attendance marts."""
