{% test quality_gate_segment_count(model, assignments, min_segments, max_segments, segment_column="segment_id", setting=none) %}
{%- set min_segments_value = quality_gate_threshold(min_segments, "min_segments") | int -%}
{%- set max_segments_value = quality_gate_threshold(max_segments, "max_segments") | int -%}
{%- set measured -%}
    select count(distinct {{ segment_column }}) as measured_value
    from {{ assignments }}
{%- endset -%}
{{ quality_gate(
    "segment_count",
    measured,
    "measured_value between " ~ min_segments_value ~ " and " ~ max_segments_value,
    "between " ~ min_segments_value ~ " and " ~ max_segments_value ~ " segments"
        ~ (" (" ~ setting ~ ")" if setting else ""),
    judged_when_rows_in=model,
) }}
{% endtest %}
