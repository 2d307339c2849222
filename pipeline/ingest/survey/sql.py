"""SQL snippets the survey loader assembles: cleaning, typing and keyed pseudonyms in DuckDB.

Everything that touches every row runs in DuckDB (vectorised, on all cores), so a million
respondents cost seconds, not minutes. Identifiers are always quoted with :func:`ident`.
"""

from __future__ import annotations

import hashlib
import hmac

import duckdb

from pipeline.warehouse.runner import literal  # one quoting for every SQL the package writes

# cells Kobo writes for a skipped question, besides an empty cell
SKIPPED_SPELLINGS = ("", "n/a", "N/A", " ")
HMAC_MACRO = "spsc_hmac16"


def clean_text(column_sql: str, *, trim: bool = True) -> str:
    """The cell as text, NULL when empty or Kobo's ``n/a`` for skipped.

    Args:
        trim: strip surrounding spaces (choices and free text need it; numbers and dates do
            not, their casts ignore spaces, and trimming every cell of a million rows costs).
    """
    skipped = ", ".join(literal(v) for v in SKIPPED_SPELLINGS)
    if trim:
        return f"nullif(nullif(nullif(trim({column_sql}), ''), 'n/a'), 'N/A')"
    return f"(case when {column_sql} in ({skipped}) then null else {column_sql} end)"


def recode(text_sql: str, mapping: dict[str, object]) -> str:
    """Replace listed values (others pass unchanged, to be validated); a ``None`` target blanks."""
    if not mapping:
        return text_sql
    whens = " ".join(f"when {literal(str(k))} then {literal(None if v is None else str(v))}"
                     for k, v in mapping.items())
    return f"(case {text_sql} {whens} else {text_sql} end)"


def as_number(text_sql: str) -> str:
    """Text to DOUBLE; a comma decimal mark (``3,5`` from ``;``-separated CSV) is accepted."""
    # coalesce evaluates the replace only where the plain cast failed
    return f"coalesce(try_cast({text_sql} as double), try_cast(replace({text_sql}, ',', '.') as double))"


def as_integer(text_sql: str) -> str:
    """Text to INTEGER when it is a whole number (``5`` or Excel's ``5.0``), else NULL."""
    num = as_number(text_sql)
    return f"(case when {num} = floor({num}) and abs({num}) < 2147483647 then cast({num} as integer) end)"


_TRUE = ("1", "1.0", "true", "True", "TRUE", "yes", "Yes", "YES", "da", "Da", "y", "Y")
_FALSE = ("0", "0.0", "false", "False", "FALSE", "no", "No", "NO", "ne", "Ne", "n", "N")


def as_boolean(text_sql: str) -> str:
    """Text to BOOLEAN: 1/0, true/false, yes/no (also da/ne) in the usual cases; else NULL."""
    yes, no = ", ".join(map(literal, _TRUE)), ", ".join(map(literal, _FALSE))
    # CASE stops at the first match: only odd cells pay for the trim
    return (f"(case when {text_sql} in ({yes}) then true when {text_sql} in ({no}) then false "
            f"when trim({text_sql}) in ({yes}) then true when trim({text_sql}) in ({no}) then false end)")


def _excel_serial(text_sql: str) -> str:
    # Excel serial day numbers between 1927 and 2173; four-digit numbers are years, not dates
    return (f"(case when regexp_full_match({text_sql}, '[1-9][0-9]{{4}}([.][0-9]+)?') then "
            f"timestamp '1899-12-30 00:00:00' + to_microseconds(cast(round(cast({text_sql} as double) "
            f"* 86400000000) as bigint)) end)")


def as_timestamp(text_sql: str) -> str:
    """Text to TIMESTAMP: ISO (offsets dropped, local time kept), dd.mm.yyyy [hh:mm[:ss]], Excel serial."""
    return ("coalesce("
            f"try_cast({text_sql} as timestamp), "
            f"try_strptime({text_sql}, '%d.%m.%Y %H:%M:%S'), "
            f"try_strptime({text_sql}, '%d.%m.%Y %H:%M'), "
            f"try_strptime({text_sql}, '%d.%m.%Y'), "
            f"try_strptime({text_sql}, '%d.%m.%Y.'), "
            f"try_strptime({text_sql}, '%d/%m/%Y'), "
            f"{_excel_serial(text_sql)})")


def as_date(text_sql: str) -> str:
    """Text to DATE (any form :func:`as_timestamp` reads)."""
    return f"cast({as_timestamp(text_sql)} as date)"


def hmac_pads(secret: bytes) -> tuple[str, str]:
    """HMAC-SHA256 inner and outer padded keys as hex, for :func:`create_hmac_macro`."""
    key = secret if len(secret) <= 64 else hashlib.sha256(secret).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key).hex(), bytes(b ^ 0x5C for b in key).hex()


def create_hmac_macro(con: duckdb.DuckDBPyConnection, secret: bytes) -> None:
    """A temporary macro ``spsc_hmac16(text)``: the first 16 hex digits of HMAC-SHA256.

    Equal to :func:`pipeline.privacy.pseudonym` without its prefix, computed by DuckDB over
    whole columns. HMAC(k, m) = sha256((k xor opad) || sha256((k xor ipad) || m)). The macro
    lives in the connection's temporary schema only; it is never written to the warehouse.
    """
    ipad, opad = hmac_pads(secret)

    def blob(hex_text: str) -> str:
        return "'" + "".join(f"\\x{hex_text[i:i + 2]}" for i in range(0, len(hex_text), 2)) + "'::blob"

    con.execute(
        f"create or replace temp macro {HMAC_MACRO}(msg) as "
        f"left(sha256({blob(opad)} || unhex(sha256({blob(ipad)} || encode(msg)))), 16)")


def drop_hmac_macro(con: duckdb.DuckDBPyConnection) -> None:
    """Remove the macro (it holds the padded secret) once the load is done."""
    con.execute(f"drop macro if exists temp.{HMAC_MACRO}")


def pseudonym_sql(prefix: str, *parts_sql: str) -> str:
    """SQL for ``pseudonym(secret, *parts, prefix=prefix)``; NULL when the first part is NULL."""
    msg = " || chr(31) || ".join(f"coalesce(cast({p} as varchar), '')" for p in parts_sql)
    return f"(case when {parts_sql[0]} is not null then {literal(prefix)} || {HMAC_MACRO}({msg}) end)"


def python_pseudonym(secret: bytes, value: str, prefix: str) -> str:
    """The same pseudonym computed in Python (for single values and tests)."""
    return prefix + hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


PHONE_PATTERN = r"^\s*(\+|00)?[0-9][0-9 ()/.\-]{6,18}[0-9]\s*$"
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"


def looks_personal_sql(text_sql: str) -> str:
    """True when a text value looks like a phone number or an e-mail address.

    Cheap tests first (an ``@``; a leading ``+`` or ``0``) inside a CASE, which evaluates
    the costly regular expressions only for the rows that pass them.
    """
    digits = f"length(regexp_replace({text_sql}, '[^0-9]', '', 'g'))"
    return (f"(case when {text_sql} is null then false "
            f"when contains({text_sql}, '@') then regexp_matches({text_sql}, {literal(EMAIL_PATTERN)}) "
            f"when regexp_matches({text_sql}, '^\\s*(\\+|0)') then "
            f"regexp_full_match({text_sql}, {literal(PHONE_PATTERN)}) and {digits} between 8 and 15 "
            f"else false end)")
