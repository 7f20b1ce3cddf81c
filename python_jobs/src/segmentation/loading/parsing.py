"""Parsing and validating staged values in SQL: good rows and rejected rows, with reasons.

All staged units are gathered in one view with columns named after the contract fields
(``_load_stage``: small units copied into one table, large ones read in place); one SQL view
over it trims, normalises and casts every value and gives a reason for each row that cannot
be loaded (``_load_parsed``). The loader reads that view twice: once for the rejected rows,
kept in ``_load_rejected``, once for the rows to load, written straight to raw.transactions.

Text is the general case (CSV, Excel, text columns of Parquet). A source column that already
has the contract's type is carried through the stage as a typed value instead (see
:data:`TYPED_SOURCES`: integer quantities, DOUBLE/DECIMAL/integer amounts, TIMESTAMP/DATE
timestamps): it skips the text parsing but not the checks, and gives the same values and
reasons as its text would (a NULL is missing, a non-finite amount or timestamp is rejected
with its text in the reason). Other types (e.g. a DOUBLE quantity, a FLOAT price, a zoned
timestamp) are turned into text and parsed like CSV values.

Normalisation (not rejection): surrounding spaces are trimmed; customer and invoice ids written
as floats lose their ``.0`` (``17850.0`` -> ``17850``); stock codes stay text exactly as written;
quantities written as ``6.0`` are 6. Rejection: a missing or unparseable timestamp, a missing,
non-numeric or fractional quantity, a missing or non-numeric amount, a missing invoice id (when
the layout has invoice ids), a zero quantity when only a line total is given. Cancellations,
negative quantities, zero prices, missing customer ids and duplicates are *loaded*: flagging
them is the staging layer's job.

Timestamps: ISO forms (``2010-12-01 08:26:00``, ``2010-12-01T08:26``, year first with ``/``)
always parse. Day/month forms (``1/12/2010 8:26``, ``01.12.2010``) need the order of day and
month: it is read from the data (a first number above 12 means day first, a second one above
12 means month first); when no value in the load settles it and no earlier load did, the load
stops with an error asking for ``--date-format``. A stated format is used as is, for every
timestamp text (typed timestamps need none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from segmentation.loading.errors import LoadError
from segmentation.loading.reading import StagedTable, quote_identifier, quote_literal

STAGE_VIEW = "_load_stage"
STAGE_ROWS_TABLE = "_load_stage_rows"
PARSED_VIEW = "_load_parsed"
REJECTED_TABLE = "_load_rejected"
UNITS_TABLE = "_load_units"
TEXT_FIELDS: tuple[str, ...] = (
    "invoice_id",
    "stock_code",
    "description",
    "quantity",
    "amount",
    "invoiced_at",
    "customer_id",
    "country",
)
WHITESPACE = " \t\r\n\u00a0"
# Prefix of synthesised invoice ids (one order per customer and timestamp); not 'C' or 'A',
# which mark cancellations and adjustments in the UCI log.
SYNTHETIC_INVOICE_PREFIX = "SYN-"
NULL_WORDS: tuple[str, ...] = ("nan", "null", "none")

# Fields a typed source column can feed directly, with the stage column's type.
TYPED_FIELDS: dict[str, str] = {
    "quantity": "bigint",
    "amount": "double",
    "invoiced_at": "timestamp",
}
# Integer types whose every value is a BIGINT.
INTEGER_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
)
# Source types (DuckDB names; DECIMAL(p,s) by its prefix) carried as typed values, per field.
# Each converts exactly as its text would parse: DOUBLE and DECIMAL to DOUBLE give the double
# nearest the decimal text; FLOAT is left out (its text, e.g. '2.55', is not the float's
# exact value), as are HUGEINT/UBIGINT quantities (may be out of range) and zoned timestamps.
TYPED_SOURCES: dict[str, frozenset[str]] = {
    "quantity": INTEGER_TYPES,
    "amount": INTEGER_TYPES | {"DOUBLE", "DECIMAL"},
    "invoiced_at": frozenset({"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATE"}),
}
# Units with at least this many rows are read in place by the stage, smaller ones copied
# into it (see create_stage_view). Measured: a unit read in place adds about 6 ms to a load
# (the stage is read three times, through a larger plan); a copy costs about 4 ms plus
# 0.13 s per million rows.
IN_PLACE_ROWS = 100_000
# The one timestamp text shape most logs use; parsed first, before the regular expressions.
COMMON_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

# ISO timestamps; a zone suffix (after a time only) is dropped: the wall-clock time is kept.
ISO_RE = (
    r"\d{4}-\d{1,2}-\d{1,2}"
    r"([T ]\d{1,2}:\d{2}(:\d{2}(\.\d{1,9})?)?( ?(Z|UTC|[+-]\d{2}(:?\d{2})?))?)?"
)
ZONE_RE = r"(:\d{2}(\.\d{1,9})?) ?(Z|UTC|[+-]\d{2}(:?\d{2})?)$"
YEAR_FIRST_RE = r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})"
DAY_MONTH_RE = r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})([ T].*)?$"
NORMALISED_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %I:%M %p",
    "%Y-%m-%d %I:%M:%S %p",
    "%Y-%m-%d %I:%M%p",
)
DAY_FIRST = "day_first"
MONTH_FIRST = "month_first"


@dataclass(frozen=True)
class DateParsing:
    """How this load turns timestamp text into timestamps.

    ``date_format`` is a format the user stated (strptime codes); otherwise ISO forms parse and
    day/month text forms use ``order`` (``day_first``/``month_first``, None when the load has
    no such values).
    """

    date_format: str | None = None
    order: str | None = None
    note: str | None = None


def create_stage_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The table small units are copied into (stage columns, see :func:`stage_unit`) and the
    table of staged units: index, name and how their fields are given."""
    text_columns = ", ".join(f"{name} varchar" for name in TEXT_FIELDS)
    value_columns = ", ".join(f"{name}_value {kind}" for name, kind in TYPED_FIELDS.items())
    con.execute(
        f"create temp table {STAGE_ROWS_TABLE} (unit_index integer, source_row bigint, "
        f"{text_columns}, {value_columns})"
    )
    con.execute(
        f"create temp table {UNITS_TABLE} (unit_index integer, source_file varchar, "
        "has_invoice_id boolean, amount_is_line_total boolean)"
    )


def column_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> DuckDB type name (e.g. ``BIGINT``, ``DECIMAL(10,2)``) of a table."""
    return {row[0]: row[1] for row in con.execute(f"describe {table}").fetchall()}


def typed_value_sql(field: str, column: str, source_type: str) -> str | None:
    """SQL giving the typed stage value of ``field`` from source ``column``, or None when a
    column of ``source_type`` must go through text (see :data:`TYPED_SOURCES`)."""
    accepted = TYPED_SOURCES.get(field, frozenset())
    if source_type.split("(")[0] not in accepted:
        return None
    quoted = quote_identifier(column)
    if source_type == "TIMESTAMP_NS":
        # Whole microseconds, rounded down as the text's extra digits would be dropped.
        nanos = f"epoch_ns({quoted})"
        return f"make_timestamp(({nanos} - (({nanos} % 1000) + 1000) % 1000) // 1000)"
    return f"cast({quoted} as {TYPED_FIELDS[field]})"


def stage_unit(
    con: duckdb.DuckDBPyConnection,
    unit_index: int,
    staged: StagedTable,
    resolved: dict[str, str],
    amount_field: str,
) -> str | None:
    """Add one staged unit to the stage: copy a small unit's rows into the stage table, or
    return the SELECT reading a large unit in place (see :func:`create_stage_view`).

    The stage columns are ``unit_index``, ``source_row``, a text column per field of
    :data:`TEXT_FIELDS` and a typed ``<field>_value`` column per field of
    :data:`TYPED_FIELDS`. ``resolved`` maps contract fields to the unit's column names; a
    column whose type is in :data:`TYPED_SOURCES` fills the field's typed value, any other
    its text; everything else is NULL.
    """
    source_for = dict(resolved)
    if amount_field in source_for:
        source_for["amount"] = source_for.pop(amount_field)
    types = column_types(con, staged.table)
    texts = {name: "cast(null as varchar)" for name in TEXT_FIELDS}
    values = {name: f"cast(null as {kind})" for name, kind in TYPED_FIELDS.items()}
    for name, column in source_for.items():
        value = typed_value_sql(name, column, types[column])
        if value is None:
            texts[name] = f"cast({quote_identifier(column)} as varchar)"
        else:
            values[name] = value
    columns = [
        f"{unit_index} as unit_index",
        f"{staged.row_expr} as source_row",
        *(f"{sql} as {name}" for name, sql in texts.items()),
        *(f"{sql} as {name}_value" for name, sql in values.items()),
    ]
    con.execute(
        f"insert into {UNITS_TABLE} values (?, ?, ?, ?)",
        [unit_index, staged.source_file, "invoice_id" in resolved, amount_field == "line_total"],
    )
    select = f"select {', '.join(columns)} from {staged.table}"
    if staged.rows_staged >= IN_PLACE_ROWS:
        return select
    try:
        con.execute(f"insert into {STAGE_ROWS_TABLE} {select}")
    except duckdb.Error as error:  # e.g. a damaged page of a Parquet file, first read here
        raise LoadError(f"{staged.source_file}: cannot read the file: {error}") from error
    return None


def create_stage_view(con: duckdb.DuckDBPyConnection, in_place: Sequence[str]) -> None:
    """The stage: the copied rows of small units and the large units read in place.

    The stage is read three times (date order, rejected rows, rows to load). Copying a
    large unit once more would cost more than reading it again, and a Parquet unit is not
    even a table (:func:`segmentation.loading.reading.stage_parquet`); but every unit read
    in place adds a fixed cost to each read, more than copying a small unit does.
    """
    selects = [f"select * from {STAGE_ROWS_TABLE}", *in_place]
    con.execute(f"create temp view {STAGE_VIEW} as {' union all '.join(selects)}")


def collect_rejected(con: duckdb.DuckDBPyConnection) -> dict[int, int]:
    """Keep the rows of the parsed stage that cannot be loaded, with their reasons, in
    ``_load_rejected``; return the count per unit index (units without any are left out)."""
    con.execute(
        f"""
        create temp table {REJECTED_TABLE} as
        select unit_index, source_file, source_row, reject_reason,
            cast(null as varchar) as raw_values
        from {PARSED_VIEW}
        where reject_reason is not null
        """
    )
    rows = con.execute(
        f"select unit_index, count(*) from {REJECTED_TABLE} group by unit_index"
    ).fetchall()
    return dict(rows)


def attach_raw_values(con: duckdb.DuckDBPyConnection, unit_index: int, staged: StagedTable) -> None:
    """Fill ``raw_values`` (every original column, as JSON text) of a unit's rejected rows."""
    pairs = ", ".join(
        f"{quote_literal(c)}, cast({quote_identifier(c)} as varchar)" for c in staged.columns
    )
    # Only the rejected rows of the unit are turned into JSON, not the whole unit.
    con.execute(
        f"""
        update {REJECTED_TABLE} as r set raw_values = original.raw_values
        from (
            select {staged.row_expr} as source_row, json_object({pairs}) as raw_values
            from {staged.table}
            where {staged.row_expr} in (
                select source_row from {REJECTED_TABLE} where unit_index = $unit
            )
        ) as original
        where r.unit_index = $unit and r.source_row = original.source_row
        """,
        {"unit": unit_index},
    )


def _trimmed(expression: str) -> str:
    """SQL for text ``expression`` without surrounding whitespace, NULL when blank.

    Trimming a set of characters is slow in DuckDB, so only values whose first or last
    character is a space, a control character or another character of :data:`WHITESPACE`
    are trimmed (``expression`` is evaluated several times: keep it a column). Comparisons,
    not an IN list, which DuckDB would turn into a join.
    """
    others = sorted({ord(c) for c in WHITESPACE if ord(c) > 32})
    ends = (f"ascii({expression})", f"ascii({expression}[-1])")
    may_have_space = " or ".join(
        f"{end} <= 32" + "".join(f" or {end} = {code}" for code in others) for end in ends
    )
    return (
        f"case when {may_have_space} "
        f"then nullif(trim({expression}, {quote_literal(WHITESPACE)}), '') "
        f"else nullif({expression}, '') end"
    )


def _may_be_day_month(column: str) -> str:
    """SQL: false for trimmed text that cannot match :data:`DAY_MONTH_RE` (whose first
    separator is the second or third character), cheaply."""
    separators = "('/', '.', '-')"
    return f"(substr({column}, 2, 1) in {separators} or substr({column}, 3, 1) in {separators})"


def check_date_format(con: duckdb.DuckDBPyConnection, date_format: str) -> None:
    """Fail early, naming the option, when a stated date format is not a valid format."""
    try:
        con.execute("select try_strptime('2000-01-01', ?)", [date_format]).fetchall()
    except duckdb.Error as error:
        raise LoadError(f"invalid date format {date_format!r}: {error}") from error


def resolve_date_parsing(
    con: duckdb.DuckDBPyConnection,
    date_format: str | None,
    previous_orders: Sequence[str],
) -> DateParsing:
    """Settle how timestamps are parsed in this load (see the module docstring).

    ``previous_orders`` are the day/month orders earlier loads settled; one of them is reused
    when this load's values are ambiguous, with a note.
    """
    if date_format:
        check_date_format(con, date_format)
        return DateParsing(date_format=date_format)
    # Only text is read (typed timestamps have none); a day/month value has its first
    # separator second or third, which rules out ISO text before the regular expression.
    stats = con.execute(
        f"""
        with texts as (
            select unit_index, source_row, {_trimmed("invoiced_at")} as text
            from {STAGE_VIEW}
            where invoiced_at is not null
        ),
        matched as (
            select u.source_file, t.source_row, t.text,
                regexp_extract(t.text, ?, ['first', 'second', 'year', 'rest']) as parts
            from texts as t
            join {UNITS_TABLE} as u using (unit_index)
            where {_may_be_day_month("t.text")} and regexp_full_match(t.text, ?)
        ),
        numbered as (
            select *, cast(parts.first as integer) as a, cast(parts.second as integer) as b
            from matched
        )
        select
            count(*),
            max(a),
            max(b),
            count(*) filter (where a <> b),
            arg_min(text || ' (' || source_file || ', row ' || source_row || ')', source_row)
                filter (where a > 12),
            arg_min(text || ' (' || source_file || ', row ' || source_row || ')', source_row)
                filter (where b > 12),
            arg_min(text || ' (' || source_file || ', row ' || source_row || ')', source_row)
                filter (where a <> b)
        from numbered
        """,
        [DAY_MONTH_RE, DAY_MONTH_RE],
    ).fetchall()[0]
    count, max_first, max_second, differing, day_example, month_example, ambiguous = stats
    if not count:
        return DateParsing()
    if max_first > 12 and max_second > 12:
        raise LoadError(
            "timestamps mix day-first and month-first forms, e.g. "
            f"{day_example} and {month_example}; state the format with --date-format"
        )
    if max_first > 12:
        return DateParsing(order=DAY_FIRST, note=f"dates read day first, as in {day_example}")
    if max_second > 12:
        return DateParsing(order=MONTH_FIRST, note=f"dates read month first, as in {month_example}")
    if not differing:
        return DateParsing(order=DAY_FIRST)
    orders = sorted(set(previous_orders))
    if len(orders) == 1:
        return DateParsing(
            order=orders[0],
            note=(
                f"dates such as {ambiguous} read {orders[0].replace('_', ' ')}, "
                "as settled by earlier loads"
            ),
        )
    example = ambiguous.split(" (")[0]
    day, month = suggest_formats(example)
    raise LoadError(
        f"ambiguous dates: {ambiguous} could be day first or month first and no value in "
        f"the data settles it; state the format, e.g. --date-format '{day}' (day first) "
        f"or --date-format '{month}' (month first)"
    )


def suggest_formats(example: str) -> tuple[str, str]:
    """Day-first and month-first strptime formats matching the shape of ``example``."""
    separator = next((c for c in example if c in "/.-"), "/")
    date_part, _, time_part = example.partition(" ")
    year = "%Y" if len(date_part.split(separator)[-1]) == 4 else "%y"
    time_format = ""
    if time_part:
        pieces = time_part.split()[0].count(":")
        time_format = " %H:%M:%S" if pieces >= 2 else " %H:%M"
        if time_part.lower().endswith(("am", "pm")):
            time_format = time_format.replace("%H", "%I") + " %p"
    day = f"%d{separator}%m{separator}{year}{time_format}"
    month = f"%m{separator}%d{separator}{year}{time_format}"
    return day, month


def _timestamp_expression(column: str, parsing: DateParsing) -> str:
    """SQL turning trimmed timestamp text ``column`` into a TIMESTAMP (NULL when it cannot)."""
    if parsing.date_format:
        return f"try_strptime({column}, {quote_literal(parsing.date_format)})"
    formats = "[" + ", ".join(quote_literal(f) for f in NORMALISED_FORMATS) + "]"
    year_first = f"regexp_replace({column}, {quote_literal(YEAR_FIRST_RE)}, '\\1-\\2-\\3')"
    day_month = "cast(null as timestamp)"
    if parsing.order:
        day, month = ("first", "second") if parsing.order == DAY_FIRST else ("second", "first")
        parts = f"regexp_extract({column}, {quote_literal(DAY_MONTH_RE)}, " + (
            "['first', 'second', 'year', 'rest'])"
        )
        year = (
            f"case when length({parts}.year) = 2 then "
            f"(case when cast({parts}.year as integer) < 69 then '20' else '19' end) "
            f"|| {parts}.year else {parts}.year end"
        )
        iso_text = f"{year} || '-' || {parts}.{month} || '-' || {parts}.{day} || {parts}.rest"
        day_month = f"try_strptime({iso_text}, {formats})"
    without_zone = f"regexp_replace({column}, {quote_literal(ZONE_RE)}, '\\1')"
    # The common shape first, for text that cannot be a day/month form: whatever it parses,
    # the branches below parse the same way (an ISO form without zone, or else the first of
    # the formats), only slower.
    common = (
        f"case when not {_may_be_day_month(column)} "
        f"then try_strptime({column}, {quote_literal(COMMON_TIMESTAMP_FORMAT)}) end"
    )
    return f"""coalesce({common}, case
            when regexp_full_match({column}, {quote_literal(ISO_RE)})
                then try_cast({without_zone} as timestamp)
            when regexp_full_match({column}, {quote_literal(DAY_MONTH_RE)})
                then {day_month}
            else try_strptime({year_first}, {formats})
        end)"""


def _without_float_zeros(column: str) -> str:
    """SQL: an id written as a float (``17850.0``) as the integer it is (``17850``)."""
    return f"regexp_replace({column}, '^(\\d+)\\.0+$', '\\1')"


def _trimmed_sql() -> str:
    """SELECT of the stage: every text field trimmed (``<field>_text``), the typed values
    (``<field>_value``) and the facts of the row's unit."""
    trimmed = ",\n    ".join(f"{_trimmed('s.' + f)} as {f}_text" for f in TEXT_FIELDS)
    values = ", ".join(f"s.{f}_value" for f in TYPED_FIELDS)
    return f"""
    select s.unit_index, s.source_row, u.source_file,
        u.has_invoice_id, u.amount_is_line_total,
    {trimmed},
    {values}
    from {STAGE_VIEW} as s
    join {UNITS_TABLE} as u using (unit_index)
    """


def _typed_sql(parsing: DateParsing) -> str:
    """SELECT adding the contract-typed values of the trimmed rows (NULL where a value cannot
    be read): ids without a float's ``.0``, no customer id for a null word, whole quantities,
    amounts and timestamps, typed values taken as they are."""
    nulls = ", ".join(quote_literal(w) for w in NULL_WORDS)
    longest_null_word = max(len(w) for w in NULL_WORDS)
    return f"""
    select *,
        case when contains(invoice_id_text, '.')
            then {_without_float_zeros("invoice_id_text")}
            else invoice_id_text
        end as invoice_clean,
        case when contains(customer_id_text, '.')
            then {_without_float_zeros("customer_id_text")}
            when strlen(customer_id_text) <= {longest_null_word}
                and lower(customer_id_text) in ({nulls}) then null
            else customer_id_text
        end as customer_id,
        case when quantity_value is not null then quantity_value
            when regexp_full_match(quantity_text, '[+-]?\\d+')
                then try_cast(quantity_text as bigint)
            when regexp_full_match(quantity_text, '[+-]?\\d+\\.0*')
                then try_cast(regexp_extract(quantity_text, '^[+-]?\\d+') as bigint)
        end as quantity,
        case when amount_value is not null then amount_value
            else try_cast(amount_text as double)
        end as amount,
        case when invoiced_at_value is null
                then {_timestamp_expression("invoiced_at_text", parsing)}
            when isfinite(invoiced_at_value) then invoiced_at_value
        end as invoiced_at
    from trimmed
    """


def _shown(field: str) -> str:
    """SQL: the text a typed field's value is shown as in a reason (its own text if any)."""
    return f"coalesce({field}_text, cast({field}_value as varchar))"


def _timestamp_reason(parsing: DateParsing) -> str:
    """SQL: why the timestamp cannot be loaded (NULL when it can), with a format hint."""
    date_hint = (
        f" (expected format {parsing.date_format})"
        if parsing.date_format
        else " (state the format with --date-format)"
    ).replace("'", "''")
    return f"""case when invoiced_at is not null then null
        when invoiced_at_text is null and invoiced_at_value is null
        then 'missing timestamp'
        else 'unparseable date ''' || {_shown("invoiced_at")} || '''{date_hint}'
    end"""


def _quantity_reason() -> str:
    """SQL: why the quantity cannot be loaded (NULL when it can)."""
    return """case when quantity is not null then null
        when quantity_text is null and quantity_value is null
        then 'missing quantity'
        when regexp_full_match(quantity_text, '[+-]?\\d+')
        then 'quantity ''' || quantity_text || ''' is out of range'
        when try_cast(quantity_text as double) is not null
        then 'quantity ''' || quantity_text || ''' is not a whole number'
        else 'non-numeric quantity ''' || quantity_text || ''''
    end"""


def _amount_reason() -> str:
    """SQL: why the amount (a unit price or a line total) cannot be loaded (NULL when it can)."""
    amount_name = "case when amount_is_line_total then 'line total' else 'unit price' end"
    return f"""case when amount_text is null and amount_value is null
        then 'missing ' || {amount_name}
        when amount is null or not isfinite(amount)
        then 'non-numeric ' || {amount_name} || ' ''' || {_shown("amount")} || ''''
        when amount_is_line_total and quantity = 0
        then 'quantity is 0, so no unit price can be derived from the line total'
    end"""


def _checked_sql(parsing: DateParsing) -> str:
    """SELECT adding the unit price (derived from a line total where that is given) and the
    reject reason: NULL for a loadable row, else every problem, separated by '; '."""
    return f"""
    select *,
        case when amount_is_line_total then amount / nullif(quantity, 0)
            else amount end as unit_price,
        case when invoiced_at is not null and quantity is not null and isfinite(amount)
                and (invoice_clean is not null or not has_invoice_id)
                and not (amount_is_line_total and quantity = 0)
            then null
            else nullif(concat_ws('; ',
            case when has_invoice_id and invoice_clean is null
                then 'missing invoice id' end,
            {_timestamp_reason(parsing)},
            {_quantity_reason()},
            {_amount_reason()}
        ), '') end as reject_reason
    from typed
    """


def _loaded_sql() -> str:
    """SELECT of the parsed rows in the contract's columns (plus unit, row and reason); an
    invoice id is synthesised when the layout has none: one per customer and timestamp."""
    return f"""
    select
        case when has_invoice_id then invoice_clean
            else '{SYNTHETIC_INVOICE_PREFIX}' || left(md5(
                coalesce(customer_id, '') || '|'
                || coalesce(strftime(invoiced_at, '%Y-%m-%d %H:%M:%S'), '')
            ), 12)
        end as invoice_id,
        stock_code_text as stock_code,
        description_text as description,
        quantity,
        unit_price,
        invoiced_at,
        customer_id,
        country_text as country,
        source_file,
        source_row,
        unit_index,
        reject_reason
    from checked
    """


def parse_stage(con: duckdb.DuckDBPyConnection, parsing: DateParsing) -> None:
    """Build ``_load_parsed``: contract-typed values and a reject reason (NULL when loadable).

    A field's value is its typed stage value when it has one, else parsed from its text;
    every check applies to both. The text of a typed value is made only for the reasons of
    rejected rows. DuckDB evaluates a CASE branch only for the rows that take it, so costly
    branches sit behind cheap tests (e.g. the id expression only for text holding a '.').
    The view is built in steps: trimmed text (:func:`_trimmed_sql`), typed values
    (:func:`_typed_sql`), unit price and reasons (:func:`_checked_sql`), the loaded columns
    (:func:`_loaded_sql`).
    """
    con.execute(
        f"""
        create temp view {PARSED_VIEW} as
        with trimmed as ({_trimmed_sql()}),
        typed as ({_typed_sql(parsing)}),
        checked as ({_checked_sql(parsing)})
        {_loaded_sql()}
        """
    )
