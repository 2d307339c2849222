"""Checks on the whole pipeline: warehouse integrity (``spsc check``), the privacy audit
(``spsc audit``) and snapshots of published numbers (``spsc snapshot``, ``spsc diff``)."""
