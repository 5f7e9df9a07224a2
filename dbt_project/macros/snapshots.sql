{#- dbt's snapshot staging query, with the current versions read only for the keys the source holds, when
    the snapshot ignores hard deletes. dbt's own (default__snapshot_staging_table) reads every current
    version (`snapshotted_data`, used twice, so Postgres materializes it whole) and joins the source to
    it: snap_incident_status compares one run's evaluated incidents with all of them, a cost that grew
    with the history (bench/incremental_cost.py). Without hard deletes a version the source does not
    name is never touched, so reading only the source's keys (through the partial index on current
    versions) changes nothing in what the snapshot writes. A snapshot that invalidates hard deletes
    needs every current version, and gets dbt's query as it is. -#}
{% macro postgres__snapshot_staging_table(strategy, source_sql, target_relation) -%}
    {%- if strategy.hard_deletes in (none, 'ignore') and strategy.unique_key is string -%}
        {%- set current_versions -%}
            (
                select *
                from {{ target_relation }}
                where {{ strategy.unique_key }} in (select {{ strategy.unique_key }} from snapshot_query)
            ) as current_versions
        {%- endset -%}
        {{ return(default__snapshot_staging_table(strategy, source_sql, current_versions)) }}
    {%- else -%}
        {{ return(default__snapshot_staging_table(strategy, source_sql, target_relation)) }}
    {%- endif -%}
{%- endmacro %}
