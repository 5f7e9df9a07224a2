{#- Incremental runs read only what changed since the last run. Each incremental model keeps a watermark
    (the largest loaded_at or processing time it has written) and re-reads var incremental_lookback_minutes
    before it, so that a load transaction that committed late is not missed: re-reading is idempotent. -#}

{#- The instant after which the source rows are new for this model: its watermark minus the lookback. -#}
{% macro incremental_since(column, relation=none) -%}
    {%- set watermark -%}
        select coalesce(max({{ column }}), '-infinity'::timestamptz)
            - interval '{{ var("incremental_lookback_minutes") }} minutes'
        from {{ relation or this }}
    {%- endset -%}
    {{ watermark_literal(watermark) }}
{%- endmacro %}

{#- A watermark query's value as a literal, read when the model runs (the query itself when dbt only
    parses): Postgres then estimates `loaded_at > '…'` from its statistics, where behind a subquery it
    assumes a third of the table, and the compiled SQL shows the instant a run read from. -#}
{% macro watermark_literal(query) -%}
    {%- if execute -%}
        {%- set value = run_query("select (" ~ query ~ ")::text").columns[0].values()[0] -%}
        '{{ value }}'::timestamptz
    {%- else -%}
        ({{ query }})
    {%- endif -%}
{%- endmacro %}

{#- After an incremental model is built from scratch (first run, full refresh), its statistics: without
    them the next incremental run's plans guess row counts, and autovacuum may not have come by yet. -#}
{% macro analyze_when_rebuilt() -%}
    {%- if config.get('materialized') == 'incremental' and not is_incremental() -%}
        analyze {{ this }}
    {%- else -%}
        select 'statistics kept by autovacuum'
    {%- endif -%}
{%- endmacro %}

{#- The time this dbt invocation started, the processing stamp of the rows it writes. -#}
{% macro run_started_at_sql() -%}
    '{{ run_started_at.isoformat() }}'::timestamptz
{%- endmacro %}

{#- The rows of a staging view whose raw object got a new version since the watermark (all of them in a
    full run). The keys are the view's partition columns, so Postgres looks each one up by the raw table's
    key index instead of deduplicating the whole history. -#}
{% macro changed_staging_rows(staging, raw_table, keys, watermark_column='loaded_at') -%}
    {%- if is_incremental() %}
    select staged.*
    from (
        select distinct {{ keys | join(', ') }}
        from {{ source('raw', raw_table) }}
        where loaded_at > {{ incremental_since(watermark_column) }}
    ) as changed
    cross join lateral (
        select *
        from {{ staging }} as staged_rows
        where {% for key in keys %}staged_rows.{{ key }} = changed.{{ key }}{% if not loop.last %}
            and {% endif %}{% endfor %}
        offset 0  -- keeps the lookup a correlated subquery: the key filter goes down into the view
    ) as staged
    {%- else %}
    select * from {{ staging }}
    {%- endif %}
{%- endmacro %}

{#- The latest processing stamp a model has written (its watermark), without lookback: stamps are written
    in the same run as the rows they mark. -#}
{% macro processed_since(column, relation=none) -%}
    {{ watermark_literal("select coalesce(max(" ~ column ~ "), '-infinity'::timestamptz) from " ~ (relation or this)) }}
{%- endmacro %}

{#- Delete the rows of messages that the latest classification run no longer makes incidents (or merges). -#}
{% macro delete_no_longer_incidents(key_column='source_message_key', keep_duplicates=false) -%}
    delete from {{ this }} as target
    using {{ ref('int_messages_classified') }} as classified
    where classified.classified_at = {{ processed_since('classified_at', ref('int_messages_classified')) }}
        and classified.source_message_key = target.{{ key_column }}
        and not classified.is_incident
        {%- if keep_duplicates %}
        and classified.non_incident_reason is distinct from 'duplicate'
        {%- endif %}
{%- endmacro %}
