"""The sections of the quarterly report and the municipality profile, one function each.

Each function takes an open :class:`~pipeline.reports.report.Report` and shows its section:
heading, sentences written from the numbers, tables and charts. The sections follow the
project's catalogue: a section per result with a chart per indicator over its breakdowns, so a
project with other indicators gets a report about them; the participation section, the
activities list and the maps appear only when the project has the attendance data or the
municipalities they need. They work for the project (``rep.muni is None``) and for one
municipality, which they compare with the project. Every number comes from
``indicator_values`` / ``indicator_changes``; suppressed cells appear as "n < 10" (or
"n < 10 (potisnuto)" and the like, from the language's catalogue), never as a number.

Modules: ``opening`` (title, headline figures, donor table), ``indicators`` (a chart per
indicator, the change between waves), ``participation`` (youth, ties, activities, maps),
``quality`` (data quality, provenance) and ``common`` (cells as readers see them).
"""

from pipeline.reports.sections.common import DIMENSION_ORDER, HEADLINE_MAX, VALUE_ORDER, shown_cell
from pipeline.reports.sections.indicators import change, results
from pipeline.reports.sections.opening import (
    donor_cell,
    donor_table,
    headline,
    headline_ids,
    headline_items,
    title,
)
from pipeline.reports.sections.participation import (
    activities,
    has_attendance,
    maps,
    ties_chart,
    youth,
    youth_summary,
)
from pipeline.reports.sections.quality import data_quality, provenance

__all__ = ["DIMENSION_ORDER", "HEADLINE_MAX", "VALUE_ORDER", "activities", "change",
           "data_quality", "donor_cell", "donor_table", "has_attendance", "headline",
           "headline_ids", "headline_items", "maps", "provenance", "results", "shown_cell",
           "ties_chart", "title", "youth", "youth_summary"]
