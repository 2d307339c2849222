"""The whole audit (``audit``) and its scans of the warehouse."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.checks.audit.personal import Finding, Scanner, collect_personal_values
from pipeline.checks.audit.reports import scan_reports
from pipeline.config import Settings


# --------------------------------------------------------------------------- warehouse
def scan_warehouse(con: duckdb.DuckDBPyConnection, scanner: Scanner) -> list[Finding]:
    """Every distinct text value of every base table's text columns."""
    columns = con.execute(
        "select c.table_name, c.column_name from information_schema.columns c"
        " join information_schema.tables t using (table_schema, table_name)"
        " where c.table_schema = 'main' and t.table_type = 'BASE TABLE'"
        " and c.data_type in ('VARCHAR', 'VARCHAR[]') order by 1, 2").fetchall()
    findings: list[Finding] = []
    for table, column in columns:
        values = con.execute(
            f'select distinct cast("{column}" as varchar) from "{table}" where "{column}" is not null'
        ).fetchall()
        for (value,) in values:
            findings.extend(scanner.scan(value, f"warehouse {table}.{column}"))
    return findings


def small_cells_in_warehouse(con: duckdb.DuckDBPyConnection, min_cell: int) -> list[Finding]:
    """Unsuppressed cells with ``n < min_cell`` in what leaves the warehouse (zero counts are
    published on purpose: "nobody" is a result)."""
    findings = []
    sources = [("indicator_values_published", "indicator_values_published")]
    have = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    if "indicator_snapshots" in have:
        sources.append(("indicator_snapshots", "indicator_snapshots"))
    if "indicator_values_published" not in have:
        return findings
    for label, table in sources:
        rows = con.execute(
            f"select indicator_id, period, dimension, dimension_value, n from {table}"
            " where not suppressed and n is not null and n < ? and not (n = 0 and"
            " coalesce(estimate, 0) = 0)", [min_cell]).fetchall()
        for r in rows:
            findings.append(Finding("small_cell", f"warehouse {label}",
                                    f"{r[0]} {r[1]} {r[2]}={r[3]} published with n {r[4]} < {min_cell}"))
        hidden = con.execute(
            f"select indicator_id, period, dimension, dimension_value from {table}"
            " where suppressed and (estimate is not null or ci_low is not null)").fetchall()
        for r in hidden:
            findings.append(Finding("small_cell", f"warehouse {label}",
                                    f"{r[0]} {r[1]} {r[2]}={r[3]} suppressed but its estimate is kept"))
    return findings


# -------------------------------------------------------------------------------- audit
@dataclass
class AuditResult:
    """Findings (the audit fails when there are any), notes, and what was read."""

    findings: list[Finding]
    notes: list[str]
    raw_files: int
    personal_values: int
    report_files: int
    unchecked: list[str] = field(default_factory=list)  # raw files that could not be read again


def audit(settings: Settings, reports: Path | None = None) -> AuditResult:
    """Audit the warehouse of ``settings`` and the reports under ``reports`` (default: the
    settings' reports folder)."""
    from pipeline.warehouse import first_row, open_published

    con = open_published(settings.db)
    try:
        personal = collect_personal_values(con, (settings.project.root,) if settings.project else ())
        scanner = Scanner(personal)
        findings = scan_warehouse(con, scanner)
        build = first_row(con, "select min_cell from indicator_builds") if _has(con, "indicator_builds") else None
        min_cell = int(build[0]) if build else settings.min_cell
        findings += small_cells_in_warehouse(con, min_cell)
        warehouse_n = None
        if _has(con, "indicator_values"):
            warehouse_n = {tuple(r[:4]): int(r[4]) for r in con.execute(
                "select indicator_id, period, dimension, dimension_value, n from indicator_values"
            ).fetchall()}
    finally:
        con.close()
    report_findings, n_files = scan_reports(Path(reports or settings.reports_dir), scanner,
                                            min_cell, warehouse_n)
    findings += report_findings
    count = len(personal.names) // 2 + len(personal.phones) + len(personal.emails)
    return AuditResult(_unique(findings), personal.notes, personal.files, count, n_files, personal.unchecked)


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_name = ?",
                            [table]).fetchall()[0][0])


def _unique(findings: Iterable[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        key = (f.kind, f.where, f.shown)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
