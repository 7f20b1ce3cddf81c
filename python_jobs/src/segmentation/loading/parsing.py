"""Parsing and validating staged text in SQL: good rows and rejected rows, with reasons.

All staged units are first copied into one table of text values named after the contract
fields (``_load_stage``); one SQL statement then trims, normalises and casts every value and
writes a reason for each row that cannot be loaded (``_load_parsed``). DuckDB does this in
a second or two for half a million rows.

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
stops with an error asking for ``--date-format``. A stated format is used as is, for every value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from segmentation.loading.errors import LoadError
from segmentation.loading.reading import StagedTable, quote_identifier, quote_literal

STAGE_TABLE = "_load_stage"
PARSED_TABLE = "_load_parsed"
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


def create_stage_table(con: duckdb.DuckDBPyConnection) -> None:
    """The table every unit's text is copied into, with contract field names."""
    text_columns = ", ".join(f"{name} varchar" for name in TEXT_FIELDS)
    con.execute(
        f"create temp table {STAGE_TABLE} (unit_index integer, source_row bigint, {text_columns})"
    )
    con.execute(
        f"create temp table {UNITS_TABLE} (unit_index integer, source_file varchar, "
        "has_invoice_id boolean, amount_is_line_total boolean)"
    )


def copy_to_stage(
    con: duckdb.DuckDBPyConnection,
    unit_index: int,
    staged: StagedTable,
    resolved: dict[str, str],
    amount_field: str,
) -> None:
    """Copy one staged unit into the stage table, mapping its columns to contract fields.

    ``resolved`` maps contract fields to the unit's column names; fields it lacks are NULL.
    The unit's own table is kept until :func:`attach_raw_values` has used it.
    """
    source_for = dict(resolved)
    if amount_field in source_for:
        source_for["amount"] = source_for.pop(amount_field)
    selected = []
    for name in TEXT_FIELDS:
        column = source_for.get(name)
        selected.append(
            f"cast({quote_identifier(column)} as varchar)" if column else "cast(null as varchar)"
        )
    con.execute(
        f"insert into {STAGE_TABLE} select ?, {staged.row_expr}, {', '.join(selected)} "
        f"from {staged.table}",
        [unit_index],
    )
    con.execute(
        f"insert into {UNITS_TABLE} values (?, ?, ?, ?)",
        [
            unit_index,
            staged.source_file,
            "invoice_id" in resolved,
            amount_field == "line_total",
        ],
    )


def attach_raw_values(con: duckdb.DuckDBPyConnection, unit_index: int, staged: StagedTable) -> None:
    """Fill ``raw_values`` (every original column, as JSON text) of a unit's rejected rows."""
    pairs = ", ".join(
        f"{quote_literal(c)}, cast({quote_identifier(c)} as varchar)" for c in staged.columns
    )
    con.execute(
        f"""
        update {PARSED_TABLE} as p set raw_values = original.raw_values
        from (
            select {staged.row_expr} as source_row, json_object({pairs}) as raw_values
            from {staged.table}
        ) as original
        where p.unit_index = ? and p.reject_reason is not null
            and p.source_row = original.source_row
        """,
        [unit_index],
    )


def _trimmed(expression: str) -> str:
    return f"nullif(trim({expression}, {quote_literal(WHITESPACE)}), '')"


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
    value = _trimmed("s.invoiced_at")
    stats = con.execute(
        f"""
        with matched as (
            select u.source_file, s.source_row, {value} as text,
                regexp_extract({value}, ?, ['first', 'second', 'year', 'rest']) as parts
            from {STAGE_TABLE} as s
            join {UNITS_TABLE} as u using (unit_index)
            where regexp_full_match({value}, ?)
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
    return f"""case
            when regexp_full_match({column}, {quote_literal(ISO_RE)})
                then try_cast({without_zone} as timestamp)
            when regexp_full_match({column}, {quote_literal(DAY_MONTH_RE)})
                then {day_month}
            else try_strptime({year_first}, {formats})
        end"""


def parse_stage(con: duckdb.DuckDBPyConnection, parsing: DateParsing) -> None:
    """Build ``_load_parsed``: contract-typed values and a reject reason (NULL when loadable)."""
    trimmed = ",\n            ".join(f"{_trimmed('s.' + f)} as {f}_text" for f in TEXT_FIELDS)
    nulls = ", ".join(quote_literal(w) for w in NULL_WORDS)
    date_hint = (
        f" (expected format {parsing.date_format})"
        if parsing.date_format
        else " (state the format with --date-format)"
    ).replace("'", "''")
    con.execute(
        f"""
        create temp table {PARSED_TABLE} as
        with trimmed as (
            select s.unit_index, s.source_row, u.source_file,
                u.has_invoice_id, u.amount_is_line_total,
            {trimmed}
            from {STAGE_TABLE} as s
            join {UNITS_TABLE} as u using (unit_index)
        ),
        typed as (
            select *,
                regexp_replace(invoice_id_text, '^(\\d+)\\.0+$', '\\1') as invoice_clean,
                case when lower(customer_id_text) in ({nulls}) then null
                    else regexp_replace(customer_id_text, '^(\\d+)\\.0+$', '\\1')
                end as customer_id,
                case when regexp_full_match(quantity_text, '[+-]?\\d+(\\.0*)?')
                    then try_cast(regexp_extract(quantity_text, '^[+-]?\\d+') as bigint)
                end as quantity,
                try_cast(amount_text as double) as amount,
                {_timestamp_expression("invoiced_at_text", parsing)} as invoiced_at
            from trimmed
        ),
        checked as (
            select *,
                case when amount_is_line_total then amount / nullif(quantity, 0)
                    else amount end as unit_price,
                nullif(concat_ws('; ',
                    case when has_invoice_id and invoice_clean is null
                        then 'missing invoice id' end,
                    case when invoiced_at_text is null then 'missing timestamp'
                        when invoiced_at is null
                        then 'unparseable date ''' || invoiced_at_text || '''{date_hint}'
                    end,
                    case when quantity_text is null then 'missing quantity'
                        when quantity is not null then null
                        when regexp_full_match(quantity_text, '[+-]?\\d+')
                        then 'quantity ''' || quantity_text || ''' is out of range'
                        when try_cast(quantity_text as double) is not null
                        then 'quantity ''' || quantity_text || ''' is not a whole number'
                        else 'non-numeric quantity ''' || quantity_text || ''''
                    end,
                    case when amount_text is null
                        then 'missing ' || case when amount_is_line_total
                            then 'line total' else 'unit price' end
                        when amount is null or not isfinite(amount)
                        then 'non-numeric ' || case when amount_is_line_total
                            then 'line total' else 'unit price' end
                            || ' ''' || amount_text || ''''
                        when amount_is_line_total and quantity = 0
                        then 'quantity is 0, so no unit price can be derived from the line total'
                    end
                ), '') as reject_reason
            from typed
        )
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
            cast(null as varchar) as raw_values,
            reject_reason
        from checked
        """
    )
