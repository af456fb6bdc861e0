# ruff: noqa: E501  (SQL text: long lines read better than split string literals)
"""The processing core: raw message bytes → (valid enriched claims, error rows), per batch.

One implementation of the rules, used by the local runner and the Beam pipeline alike. It is
vectorised over a batch: byte checks in numpy/pyarrow, JSON parsing, typing, validation and
enrichment in one DuckDB query (in-memory, no files), so a million messages are a handful of
columnar operations rather than a million Python calls. Every input row comes out exactly once,
either as a claim or as an error carrying its raw bytes, an error code and a message.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hospigen.pipelines.claims import rules
from hospigen.pipelines.claims.schema import (
    CLAIM_STATUSES,
    CLAIMS_EVENTS_STREAM,
    GENDERS,
    MAX_AGE,
    MAX_AMOUNT,
    MAX_MESSAGE_BYTES,
    MESSAGE_FIELDS,
    PLACES_OF_SERVICE,
    PROCESSING_ERRORS,
    REQUIRED,
)

_LOCAL = threading.local()
_SEQ = pa.field("_seq", pa.int64(), False)
# working schemas: the output tables plus the stream position. Claims do not carry their raw
# bytes (about 90 % of a batch's volume): the few that history turns into errors fetch theirs
# through ``Processed.raw_of``.
CLAIMS_WORK = pa.schema([_SEQ, *CLAIMS_EVENTS_STREAM])
ERRORS_WORK = pa.schema([_SEQ, *PROCESSING_ERRORS])


@dataclass
class Processed:
    """The outcome of one batch: claims and errors, each with an internal ``_seq`` column.

    ``raw`` and ``seq`` are the batch's input (raw bytes per row, increasing stream
    positions), so :meth:`raw_of` can give back any row's bytes without claims carrying them.
    """

    claims: pa.Table
    errors: pa.Table
    raw: pa.Array
    seq: np.ndarray

    def raw_of(self, seq: np.ndarray) -> pa.Array:
        """Raw message bytes of the rows at stream positions ``seq``."""
        idx = np.searchsorted(self.seq, np.asarray(seq, dtype=np.int64))
        return self.raw.take(pa.array(idx, pa.int64()))


def _connection() -> duckdb.DuckDBPyConnection:
    # one in-memory DuckDB per thread: connections are not shared across threads
    con = getattr(_LOCAL, "con", None)
    if con is None:
        con = duckdb.connect()
        con.execute("SET TimeZone='UTC'")
        _LOCAL.con = con
    return con


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")"


def _bytes_of(raw: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(int64 offsets of each row, data bytes) of a binary array, without copying the data."""
    offsets = np.frombuffer(raw.buffers()[1], np.int32)[raw.offset : raw.offset + len(raw) + 1]
    buf = raw.buffers()[2]
    data = np.frombuffer(buf, np.uint8) if buf is not None and buf.size else np.zeros(0, np.uint8)
    return offsets.astype(np.int64), data


_UTF8_BLOCK = 2048


def _invalid_utf8_rows(raw: pa.Array, skip: np.ndarray) -> np.ndarray:
    """Indexes of rows whose bytes are not UTF-8 (rows in ``skip`` are not checked).

    Blocks of rows are validated by Arrow; in a block that fails, only rows holding a byte
    >= 0x80 can be invalid, and only they are decoded (claims are almost all ASCII).
    """
    offsets, data = _bytes_of(raw)
    rows = []
    for a in range(0, len(raw), _UTF8_BLOCK):  # Arrow validates a block in C++; most pass
        try:
            raw.slice(a, _UTF8_BLOCK).cast(pa.string())
            continue
        except pa.ArrowInvalid:
            pass
        lo, hi = offsets[a], offsets[min(a + _UTF8_BLOCK, len(raw))]
        high = np.flatnonzero(data[lo:hi] >= 0x80) + lo
        rows.append(np.unique(np.searchsorted(offsets, high, side="right") - 1))
    if not rows:
        return np.empty(0, dtype=np.int64)
    rows = np.concatenate(rows)
    rows = rows[~skip[rows]]
    bad = []
    for i in rows.tolist():
        try:
            data[offsets[i] : offsets[i + 1]].tobytes().decode("utf-8")
        except UnicodeDecodeError:
            bad.append(i)
    return np.asarray(bad, dtype=np.int64)


def prepare(raw: pa.Array, seq: np.ndarray) -> pa.Table:
    """Byte-level checks: the batch as (``_seq``, ``_i`` row index, ``_len`` bytes, ``_raw``,
    ``s`` text or NULL, ``_pre`` code). The SQL never reads ``_raw``: error rows get their bytes
    back by ``_i`` in Arrow, so the message bytes are not copied through DuckDB."""
    raw = raw.cast(pa.binary()) if raw.type != pa.binary() else raw
    if raw.null_count:
        raw = pc.if_else(pc.is_null(raw), pa.scalar(b"", pa.binary()), raw)
    n = len(raw)
    pre = np.full(n, None, dtype=object)
    offsets, _ = _bytes_of(raw)
    oversized = np.diff(offsets) > MAX_MESSAGE_BYTES
    pre[oversized] = "oversized"
    bad = _invalid_utf8_rows(raw, oversized)
    pre[bad] = "invalid_utf8"
    blocked = oversized.copy()
    blocked[bad] = True
    if not blocked.any():
        text = raw.cast(pa.string())
    elif raw.offset == 0:  # zero copy: the same bytes, with the blocked rows marked null
        valid = pa.py_buffer(np.packbits(~blocked, bitorder="little"))
        text = pa.Array.from_buffers(pa.string(), n, [valid, *raw.buffers()[1:]])
    else:
        text = pc.if_else(pa.array(blocked), pa.scalar(None, pa.binary()), raw).cast(pa.string())
    return pa.table(
        {
            "_seq": pa.array(seq, pa.int64()),
            "_i": pa.array(np.arange(n, dtype=np.int64)),
            "_len": pa.array(np.diff(offsets)),
            "_raw": raw,
            "s": text,
            "_pre": pa.array(pre, pa.string()),
        }
    )


# ---------------------------------------------------------------- SQL, built once from the contract


_PLAIN_STRINGS = r'\["[^"\\]*"(,"[^"\\]*")*\]'


def _kind_ok(name: str, kind: str) -> str:
    j, k = f"j_{name}", f"k_{name}"
    return {
        "string": f"{k} = '\"'",
        "date": f"{k} = '\"'",
        "timestamp": f"{k} = '\"'",
        "number": f"{k} IN ('-','0','1','2','3','4','5','6','7','8','9')",
        "integer": (
            f"{k} IN ('-','0','1','2','3','4','5','6','7','8','9') "
            f"AND TRY_CAST({j} AS DOUBLE) = trunc(TRY_CAST({j} AS DOUBLE))"
        ),
        # a compact array of plain strings is recognised by a regular expression (cheaper than
        # json_structure, which parses); anything else is asked of json_structure
        "strings": (
            f"{k} = '[' AND ({j} = '[]' OR regexp_full_match({j}, '{_PLAIN_STRINGS}') "
            f"OR json_structure({j}::JSON) = '[\"VARCHAR\"]')"
        ),
    }[kind]


def _value(name: str, kind: str) -> str:
    j = f"j_{name}"
    # ``_esc``: the message holds a backslash somewhere (one test per message, not per field).
    # substr(…, length - 2) is ``{j}[2:-2]`` (greatest: a 1-character value gives '' as the
    # slice does) at a third of the CPU: the slice goes through DuckDB's list-slice code
    unquoted = f"substr({j}, 2, greatest(length({j}) - 2, 0))"
    text = f"CASE WHEN _esc THEN json_extract_string({j}, '$') ELSE {unquoted} END"
    return {
        "string": text,
        "date": text,
        "timestamp": text,
        "number": f"TRY_CAST({j} AS DOUBLE)",
        "integer": f"TRY_CAST(TRY_CAST({j} AS DOUBLE) AS BIGINT)",
        "strings": f"json_transform({j}::JSON, '[\"VARCHAR\"]')",
    }[kind]


def _parsed(name: str, kind: str) -> str:
    v = f"v_{name}"
    if kind == "date":
        return (
            f"CASE WHEN regexp_full_match({v}, '\\d{{4}}-\\d{{2}}-\\d{{2}}') "
            f"THEN TRY_CAST({v} AS DATE) END"
        )
    if kind == "timestamp":
        return f"TRY_CAST({v} AS TIMESTAMPTZ)"
    return v


def _names(condition: str, fields) -> str:
    cases = ", ".join(f"CASE WHEN {condition.format(n=f.name)} THEN '{f.name}' END" for f in fields)
    return f"concat_ws(', ', {cases})"


@dataclass(frozen=True)
class _Sql:
    parse: str
    enrich: str


def _build_sql() -> _Sql:
    fields = MESSAGE_FIELDS
    spec = "{" + ", ".join(f'"{f.name}": "JSON"' for f in fields) + "}"
    raw_cols = ", ".join(f"f.{f.name}::VARCHAR AS j_{f.name}" for f in fields)
    kinds = ", ".join(f"left(j_{f.name}, 1) AS k_{f.name}" for f in fields)
    present = list(fields)
    wrong = " OR ".join(
        f"(j_{f.name} IS NOT NULL AND j_{f.name} <> 'null' AND NOT ({_kind_ok(f.name, f.kind)}))"
        for f in present
    )
    wrong_names = (
        "concat_ws(', ', "
        + ", ".join(
            f"CASE WHEN j_{f.name} IS NOT NULL AND j_{f.name} <> 'null' "
            f"AND NOT ({_kind_ok(f.name, f.kind)}) THEN '{f.name}' END"
            for f in present
        )
        + ")"
    )
    values = ", ".join(f"{_value(f.name, f.kind)} AS v_{f.name}" for f in fields)
    typed = ", ".join(f"{_parsed(f.name, f.kind)} AS t_{f.name}" for f in fields)
    req = [f for f in fields if f.name in REQUIRED]
    dated = [f for f in fields if f.kind in ("date", "timestamp")]
    # json_transform gives SQL NULL for both an absent key and a JSON null; ask which only
    # then: a CASE evaluates json_exists (a second parse of the message) on those rows alone,
    # where ``AND`` evaluated it on every row of the batch
    absent = "CASE WHEN j_{n} IS NULL THEN NOT json_exists(s, '$.\"{n}\"') ELSE false END"
    isnull = "CASE WHEN j_{n} IS NULL THEN json_exists(s, '$.\"{n}\"') ELSE false END"
    missing = " OR ".join(f"({absent.format(n=f.name)})" for f in req)
    nulls = " OR ".join(f"({isnull.format(n=f.name)})" for f in req)
    bad_dates = " OR ".join(f"(v_{f.name} IS NOT NULL AND t_{f.name} IS NULL)" for f in dated)
    bad_date_names = _names("v_{n} IS NOT NULL AND t_{n} IS NULL", dated)
    date_range = " OR ".join(
        f"t_{f.name} NOT BETWEEN DATE '1850-01-01' AND DATE '2200-12-31'"
        for f in dated
        if f.kind == "date"
    )
    enum_bad = (
        f"t_claim_status NOT IN {_in(CLAIM_STATUSES)}"
        f" OR t_patient_gender NOT IN {_in(GENDERS)}"
        f" OR t_place_of_service NOT IN {_in(PLACES_OF_SERVICE)}"
        " OR NOT regexp_full_match(t_provider_region, '[A-Z]{2}')"
        " OR t_synthetic_label_is_fraud NOT IN (0, 1)"
    )
    error = f"""
        CASE
          WHEN e0 IS NOT NULL THEN e0
          WHEN {missing} THEN 'missing_field'
          WHEN {nulls} THEN 'null_field'
          WHEN {wrong} THEN 'wrong_type'
          WHEN {bad_dates} OR coalesce({date_range}, false) THEN 'bad_date'
          WHEN NOT (t_claim_amount BETWEEN 0 AND {MAX_AMOUNT}) THEN 'amount_out_of_range'
          WHEN coalesce(NOT (t_patient_age BETWEEN 0 AND {MAX_AGE}), false)
               OR (j_patient_age IS NOT NULL AND j_patient_age <> 'null' AND t_patient_age IS NULL)
               THEN 'age_out_of_range'
          WHEN coalesce({enum_bad}, false) THEN 'bad_enum'
          WHEN t_submission_date < t_service_date THEN 'submission_before_service'
        END"""
    message = f"""
        CASE error_code
          WHEN 'oversized' THEN 'message is ' || _len || ' bytes; the limit is {MAX_MESSAGE_BYTES}'
          WHEN 'invalid_utf8' THEN 'message bytes are not valid UTF-8'
          WHEN 'malformed_json' THEN 'message is not valid JSON'
          WHEN 'not_an_object' THEN 'message is JSON but not an object'
          WHEN 'missing_field' THEN 'missing required field(s): ' || {_names(absent, req)}
          WHEN 'null_field' THEN 'required field(s) are null: ' || {_names(isnull, req)}
          WHEN 'wrong_type' THEN 'wrong JSON type for field(s): ' || {wrong_names}
          WHEN 'bad_date' THEN 'unparseable or implausible date in: ' || coalesce(nullif({bad_date_names}, ''), 'a date field')
          WHEN 'amount_out_of_range' THEN 'claim_amount ' || t_claim_amount || ' is outside 0..{MAX_AMOUNT:.0f}'
          WHEN 'age_out_of_range' THEN 'patient_age ' || coalesce(j_patient_age, '?') || ' is outside 0..{MAX_AGE}'
          WHEN 'bad_enum' THEN 'value outside its value set in claim_status, patient_gender, place_of_service, provider_region or synthetic_label_is_fraud'
          WHEN 'submission_before_service' THEN 'submission_date ' || t_submission_date || ' is before service_date ' || t_service_date
        END"""
    out_cols = ", ".join(f"t_{f.name} AS {f.name}" for f in fields)
    parse = f"""
    WITH a AS (
      SELECT _seq, _i, _len, s, contains(s, '\\') AS _esc,
        CASE WHEN _pre IS NOT NULL THEN _pre
             WHEN NOT json_valid(s) THEN 'malformed_json'
             WHEN left(ltrim(s, ' ' || chr(9) || chr(10) || chr(13)), 1) <> '{{' THEN 'not_an_object'
        END AS e0
      FROM batch),
    b AS (SELECT *, CASE WHEN e0 IS NULL THEN json_transform(s, '{spec}') END AS f FROM a),
    c AS (SELECT _seq, _i, _len, s, _esc, e0, {raw_cols} FROM b),
    d AS (SELECT *, {kinds} FROM c),
    e AS (SELECT *, {values} FROM d),
    g AS (SELECT *, {typed} FROM e),
    h AS (SELECT *, {error} AS error_code FROM g)
    SELECT _seq, _i, error_code,
      CASE WHEN error_code IS NOT NULL THEN {message} END AS error,
      CASE WHEN k_claim_id = '"' THEN v_claim_id END AS err_claim_id,
      {out_cols}
    FROM h"""
    rule_exprs = rules.rule_sql()
    score, reasons = rules.score_sql()
    flags = ", ".join(f"{sql} AS r_{name}" for name, sql in rule_exprs.items())
    enrich = f"""
    WITH v AS (
      SELECT * EXCLUDE (diagnosis_codes, procedure_codes),
        coalesce(diagnosis_codes, []::VARCHAR[]) AS diagnosis_codes,
        coalesce(procedure_codes, []::VARCHAR[]) AS procedure_codes,
        date_diff('day', service_date, submission_date) AS days_to_submission
      FROM parsed WHERE error_code IS NULL),
    x AS (SELECT *, {rules.expected_amount_sql()} AS expected_amount FROM v),
    r AS (SELECT *, {flags} FROM x),
    s AS (SELECT *, {score} AS fraud_risk_score, {reasons} AS fraud_reasons FROM r)
    SELECT _seq,
      claim_id, patient_id, provider_id, billing_npi, claim_amount, diagnosis_codes,
      procedure_codes, service_date, submission_date, claim_status, provider_region,
      patient_age, patient_gender, place_of_service, notes, ingest_ts,
      synthetic_label_is_fraud, days_to_submission, fraud_risk_score,
      fraud_risk_score > 0.5 AS high_risk_flag, {{ts}} AS processing_timestamp,
      patient_birth_date, patient_death_date, synthetic_fraud_pattern, fraud_reasons,
      md5(concat_ws('|', patient_id, provider_id, service_date::VARCHAR,
          array_to_string(list_sort(procedure_codes), ','), printf('%.2f', claim_amount)))
        AS claim_fingerprint
    FROM s"""
    return _Sql(parse, enrich)


_SQL: _Sql | None = None


def _sql() -> _Sql:
    global _SQL
    if _SQL is None:
        _SQL = _build_sql()
    return _SQL


ERROR_SELECT = """
    SELECT _seq, _i, err_claim_id AS claim_id, error, {ts} AS error_timestamp, error_code
    FROM parsed WHERE error_code IS NOT NULL"""


def _whole(column: pa.ChunkedArray) -> pa.Array:
    # combine_chunks copies even a single chunk: hundreds of megabytes of message bytes here
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _in_order(table: pa.Table) -> pa.Table:
    # DuckDB keeps insertion order here (preserve_insertion_order); sort only if it did not
    seq = table.column("_seq").to_numpy()
    return table if (np.diff(seq) > 0).all() else table.sort_by("_seq")


def _run(table: pa.Table, processing_ts: dt.datetime) -> tuple[pa.Table, pa.Table]:
    con = _connection()
    con.register("batch", table)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE parsed AS {_sql().parse}")
        ts = f"TIMESTAMPTZ '{processing_ts.astimezone(dt.UTC).isoformat()}'"
        claims = con.sql(_sql().enrich.replace("{ts}", ts)).to_arrow_table()
        errors = con.sql(ERROR_SELECT.replace("{ts}", ts)).to_arrow_table()
    finally:
        con.unregister("batch")
        con.execute("DROP TABLE IF EXISTS parsed")
    errors = _in_order(errors)
    # the error rows' bytes, taken from the batch in Arrow (5 % of rows, not 100 % via DuckDB)
    # ``_i`` counts rows of the whole batch; ``table`` may be a slice of it (see _bisect)
    # (plain arrays and numpy indices: a chunked take would first concatenate all the bytes)
    idx = errors.column("_i").to_numpy()
    if table.num_rows:
        idx = pa.array(idx - table.column("_i")[0].as_py(), pa.int64())
    errors = (
        errors.drop_columns(["_i"])
        .append_column("raw_claim", _whole(table.column("s")).take(idx))
        .append_column("raw_message", _whole(table.column("_raw")).take(idx))
    )
    return _in_order(claims).cast(CLAIMS_WORK), errors.select(ERRORS_WORK.names).cast(ERRORS_WORK)


def _unprocessable(table: pa.Table, processing_ts: dt.datetime) -> tuple[pa.Table, pa.Table]:
    raw = table.column("_raw")
    n = table.num_rows
    text = table.column("s")
    errors = pa.table(
        {
            "_seq": table.column("_seq"),
            "claim_id": pa.nulls(n, pa.string()),
            "error": pa.array(["the message defeated the parser"] * n),
            "error_timestamp": pa.array([processing_ts] * n, pa.timestamp("us", tz="UTC")),
            "raw_claim": text,
            "raw_message": raw,
            "error_code": pa.array(["unprocessable"] * n),
        }
    ).cast(ERRORS_WORK)
    return CLAIMS_WORK.empty_table(), errors


# errors a hostile row can provoke inside DuckDB's JSON functions (not SQL bugs)
_DATA_ERRORS = (
    duckdb.InvalidInputException,
    duckdb.ConversionException,
    duckdb.OutOfRangeException,
)


def _bisect(table: pa.Table, processing_ts: dt.datetime) -> list[tuple[pa.Table, pa.Table]]:
    """Run ``table``; if the engine raises on some row, split until the culprit is isolated."""
    try:
        return [_run(table, processing_ts)]
    except _DATA_ERRORS:
        if table.num_rows <= 1:
            return [_unprocessable(table, processing_ts)]
        half = table.num_rows // 2
        return _bisect(table.slice(0, half), processing_ts) + _bisect(
            table.slice(half), processing_ts
        )


def process_batch(
    raw: pa.Array | list[bytes],
    processing_ts: dt.datetime,
    seq: np.ndarray | None = None,
) -> Processed:
    """Parse, validate and enrich a batch of raw messages.

    ``raw`` holds one message's bytes per row; ``seq`` their stream positions, increasing
    (default 0..n-1), carried as ``_seq`` so later steps can keep the first of duplicates.
    ``processing_ts`` stamps ``processing_timestamp`` and ``error_timestamp``.
    """
    if not isinstance(raw, pa.Array):
        raw = pa.array(raw, pa.binary())
    seq = np.arange(len(raw), dtype=np.int64) if seq is None else np.asarray(seq, np.int64)
    table = prepare(raw, seq)
    if processing_ts.tzinfo is None:
        processing_ts = processing_ts.replace(tzinfo=dt.UTC)
    parts = _bisect(table, processing_ts)
    raw = _whole(table.column("_raw"))
    if len(parts) == 1:
        return Processed(*parts[0], raw, seq)
    return Processed(
        pa.concat_tables([c for c, _ in parts]),
        pa.concat_tables([e for _, e in parts]),
        raw,
        seq,
    )
