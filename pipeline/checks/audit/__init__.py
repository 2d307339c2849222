"""``spsc audit``: personal data and small cells where they must not be.

What is looked for:

- **personal values of this installation**: every name, phone and e-mail written in the raw
  files the warehouse was loaded from (the paths in ``load_batches``, read again now and
  verified by sha256): the personal columns of the sign-in sheets (through the header alias
  table) and of the survey exports (the questions the codebook marks personal);
- **anything that looks like a phone number or an e-mail address** (patterns);
- **published cells below the small-cell threshold**: unsuppressed cells with
  ``n < min_cell`` in ``indicator_values_published`` and in the snapshots, and in report
  tables (a table with an ``n`` column, or with indicator/period/dimension columns whose
  warehouse cell has ``n < min_cell``);
- **spreadsheet formulas** in exported CSV/XLSX text cells (exports must neutralise them),
  and hyperlinks to outside addresses in exported XLSX (text that became a link).

Where: every text column of the warehouse, and under the reports folder every HTML, CSV,
XLSX, PPTX and executed notebook (``.ipynb``). Findings never show a personal value in full:
names keep two letters per word (``An** Pe*****``), phones three digits, e-mails two letters.

Names are matched as whole words after folding (Latin script, no case, no diacritics), as a
sequence of at least two words in the order written or reversed (``Petrović Ana``), with at
least :data:`MIN_NAME_LETTERS` letters, so that common words and single first names do not
raise false alarms.

Modules: ``run`` (the audit and its warehouse scans), ``personal`` (the personal values of the
raw files, the patterns and the scanner) and ``reports`` (what is read in report files).
"""

from pipeline.checks.audit.personal import (
    MIN_NAME_LETTERS,
    Finding,
    PersonalValues,
    Scanner,
    collect_personal_values,
    mask_email,
    mask_phone,
    mask_words,
    phone_digits,
)
from pipeline.checks.audit.reports import (
    Table,
    html_content,
    report_files,
    scan_reports,
    small_cells_in_table,
)
from pipeline.checks.audit.run import AuditResult, audit, scan_warehouse, small_cells_in_warehouse

__all__ = ["MIN_NAME_LETTERS", "AuditResult", "Finding", "PersonalValues", "Scanner", "Table",
           "audit", "collect_personal_values", "html_content", "mask_email", "mask_phone",
           "mask_words", "phone_digits", "report_files", "scan_reports", "scan_warehouse",
           "small_cells_in_table", "small_cells_in_warehouse"]
