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
    {%- if execute and this is not string -%}  {#- in a unit test `this` names its fixture: read it in the query -#}
        {%- set value = run_query("select (" ~ query ~ ")::text").columns[0].values()[0] -%}
        '{{ value }}'::timestamptz
    {%- else -%}
        ({{ query }})
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of every model: statistics of what it just wrote.
    - An incremental model built from scratch (first run, full refresh): the whole table's; without them
      the next incremental run's plans guess row counts, and autovacuum may not have come by yet.
    - An incremental run: its batch stamps' (the processing stamps, run_started_at, that the models
      downstream read their batches by: `stamp > watermark`). The models downstream read the batch by its stamp
      later in the same build, before autovacuum comes by; with statistics that know no stamp past the
      watermark Postgres expects one row and nests loops over the batch. After the settling run of
      bench/incremental_cost.py (144,000 incidents re-evaluated on 1.25M messages) the status snapshot
      and mart_incident_spikes' scopes each ran over 5 minutes so, 12 s with fresh statistics. ANALYZE
      samples 300 rows per unit of the columns' statistics target, each from a random page: at the default
      target (100) 30,000 pages, which once the history outgrows memory are read from disk (10.5 million
      messages, bench/incremental_cost.py). The stamp columns are sampled with a target of
      var batch_stamp_statistics_target (10: 3,000 rows, so a batch of 0.5% of the table is some 15 of
      them, an MCV the readers estimate it by; a smaller batch looks smaller still, and a nested loop over
      it is what it needs anyway). The writer analyzes, not
      each reader in a pre-hook: ANALYZE holds its lock on the table until the reader's transaction ends,
      and a second reader's ANALYZE waited for the first reader's whole run (int_message_municipalities
      84 s behind int_message_category_scores). -#}
{% macro analyze_what_was_written() -%}
    {%- set batch_stamps = ['unioned_at', 'classified_at', 'matched_at', 'evaluated_run_at', 'merged_at'] -%}
    {%- if config.get('materialized') == 'incremental' and not is_incremental() -%}
        analyze {{ this }}
    {%- elif config.get('materialized') == 'incremental' and execute -%}
        {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
        {%- set stamps = batch_stamps | select('in', columns) | list -%}
        {%- if stamps -%}
        alter table {{ this }}
            {% for stamp in stamps %}alter column {{ stamp }} set statistics {{ var('batch_stamp_statistics_target') }}{% if not loop.last %}, {% endif %}{% endfor %};
        analyze {{ this }} ({{ stamps | join(', ') }})
        {%- else -%}
        select 'no batch stamp'
        {%- endif -%}
    {%- else -%}
        select 'statistics kept by autovacuum'
    {%- endif -%}
{%- endmacro %}

{#- The time this dbt invocation started, the processing stamp of the rows it writes. -#}
{% macro run_started_at_sql() -%}
    '{{ run_started_at.isoformat() }}'::timestamptz
{%- endmacro %}

{#- The rows of a staging view whose raw object got a new version since the watermark (all of them in a
    full run), and those whose keys the query `also` selects (objects to re-read for another reason). The
    keys are the view's partition columns, so Postgres looks each one up by the raw table's key index
    instead of deduplicating the whole history.
    The lookback re-reads what was loaded in the minutes before the watermark, most of it written by the
    last run: a message already in the target (int_messages_unioned) with the same loaded_at is its latest
    version as written, and is left out unless `also` selects it. Rewritten, it would get a new unioned_at
    and every model downstream would classify it again: with runs as frequent as the lookback is long (10
    minutes), each run classified the batch of the run before a second time. -#}
{% macro changed_staging_rows(staging, raw_table, keys, watermark_column='loaded_at', also=none) -%}
    {%- if is_incremental() %}
    select staged.*
    from (
        select {{ keys | join(', ') }}, bool_or(is_context_change) as is_context_change
        from (
            select {{ keys | join(', ') }}, false as is_context_change
            from {{ source('raw', raw_table) }}
            where loaded_at > {{ incremental_since(watermark_column) }}
            {%- if also %}
            union all
            select *, true from ({{ also }}) as context_changes
            {%- endif %}
        ) as reasons
        group by {{ keys | join(', ') }}
    ) as changed
    cross join lateral (
        select *
        from {{ staging }} as staged_rows
        where {% for key in keys %}staged_rows.{{ key }} = changed.{{ key }}{% if not loop.last %}
            and {% endif %}{% endfor %}
        offset 0  -- keeps the lookup a correlated subquery: the key filter goes down into the view
    ) as staged
    where changed.is_context_change
        or not exists (
            select
            from {{ this }} as written
            where written.source_message_key = staged.source_message_key
                and written.loaded_at = staged.loaded_at
        )
    {%- else %}
    select * from {{ staging }}
    {%- endif %}
{%- endmacro %}

{#- The latest processing stamp a model has written (its watermark), without lookback: stamps are written
    in the same run as the rows they mark, and a model reads upstream rows stamped after it, so a run that
    was interrupted or skipped (a failed test upstream) leaves its rows for the next one. Rendered in a
    pre-hook it is the watermark of the run before this one. A target without the column yet (written
    by an older version) has none: everything upstream is new. -#}
{% macro processed_since(column, relation=none) -%}
    {%- set target_relation = relation or this -%}
    {%- if execute and relation is none and this is not string
            and column not in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) -%}
        '-infinity'::timestamptz
    {%- else -%}
        {{ watermark_literal("select coalesce(max(" ~ column ~ "), '-infinity'::timestamptz) from " ~ target_relation) }}
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of the models keyed by incident: before a run inserts its batch, delete the rows of messages
    classified as no incident since this model's own watermark (`watermark_column`), and those merged into
    them. Any run after an interrupted or skipped one still sees every declassification it missed.
    - key_column: the target's message key; incident_column: the target's incident key (or none);
    - hashed: the incident column holds md5(source_message_key) (the marts' incident_id);
    - keep_duplicates: a message that became a duplicate stays (it is merged into the earlier incident).
    The rows are found by each declassified message's lookups in the target's indexes (offset 0 keeps them
    correlated subqueries) and deleted by their row ids: as a join, a batch of 70,000 declassified messages
    was hashed against a sequential scan of the whole target (3 million incidents, 1.8-2.7 s of reads from
    disk each for int_incidents_evaluated and fct_incidents at 10.5 million messages, bench/incremental_cost.py). -#}
{% macro delete_no_longer_incidents(watermark_column, key_column='source_message_key', incident_column=none,
        hashed=false, keep_duplicates=false) -%}
    {%- if is_incremental() -%}
    {%- set message_key = 'md5(classified.source_message_key)' if hashed else 'classified.source_message_key' -%}
    delete from {{ this }} as target
    where target.ctid = any(array(
        select doomed.row_id
        from {{ ref('int_messages_classified') }} as classified
        cross join lateral (
            select by_key.ctid as row_id
            from {{ this }} as by_key
            where by_key.{{ key_column }} = classified.source_message_key
            {%- if incident_column %}
            union all
            select by_incident.ctid
            from {{ this }} as by_incident
            where by_incident.{{ incident_column }} = {{ message_key }}
            {%- endif %}
            offset 0
        ) as doomed
        where classified.classified_at > {{ processed_since(watermark_column) }}
            and not classified.is_incident
            {%- if keep_duplicates %}
            and classified.non_incident_reason is distinct from 'duplicate'
            {%- endif %}
    ))
    {%- else -%}
    select 'built from scratch: nothing to delete'
    {%- endif -%}
{%- endmacro %}

{#- A list of rows as an SQL relation of literals (the result of a query run when the model compiles), so
    that a pre-hook and the model's query act on the same rows whatever the pre-hook deletes.
    columns: [(name, SQL type)]. -#}
{% macro rows_literal(rows, columns) -%}
    {%- if rows | length == 0 -%}
    select {% for name, type in columns %}null::{{ type }} as {{ name }}{% if not loop.last %}, {% endif %}{% endfor %}
    where false
    {%- else -%}
    select * from (values
        {%- for row in rows %}
        ({% for value in row %}{% if value is none %}null{% else %}'{{ value | string | replace("'", "''") }}'{% endif %}::{{ columns[loop.index0][1] }}{% if not loop.last %}, {% endif %}{% endfor %}){% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as literal_rows ({% for name, type in columns %}{{ name }}{% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif -%}
{%- endmacro %}

{#- The rows of a query, run when the model compiles (none while dbt only parses). -#}
{% macro query_rows(query) -%}
    {%- if execute -%}
        {{ return(run_query(query).rows | map('list') | list) }}
    {%- else -%}
        {{ return([]) }}
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of fct_incident_answers: the answers of the incidents evaluated since its watermark, and of
    the messages declassified since, go before the batch replaces them. -#}
{% macro delete_answers_of_reevaluated_incidents() -%}
    {%- if is_incremental() -%}
    {%- set watermark = processed_since('evaluated_run_at') -%}
    delete from {{ this }} as target
    where target.incident_id in (
        select incident_id
        from {{ ref('fct_incidents') }}
        where evaluated_run_at > {{ watermark }}
        union all
        select md5(source_message_key)
        from {{ ref('int_messages_classified') }}
        where classified_at > {{ watermark }}
            and not is_incident
    )
    {%- else -%}
    select 'built from scratch: nothing to delete'
    {%- endif -%}
{%- endmacro %}

{#- The incidents int_answers_matched re-matches: those with a message in a thread where a comment or an
    incident message was classified after `watermark`, and the messages declassified since (whose rows
    go). Reads no row of int_answers_matched, so its pre-hook and its query select the same incidents. -#}
{% macro incidents_to_rematch(watermark) -%}
    select in_thread.incident_message_key
    from (
        select thread_root_key
        from {{ ref('int_messages_classified') }}
        where classified_at > {{ watermark }}
            and message_kind = 'comment'
        union
        select thread_root_key
        from {{ ref('int_incident_messages') }}
        where classified_at > {{ watermark }}
    ) as changed_threads
    -- each thread's incident messages through the thread_root_key index (offset 0 keeps the lookup a
    -- correlated subquery): a join was hashed from a scan of every incident message
    cross join lateral (
        select incident_message_key
        from {{ ref('int_incident_messages') }} as incident_messages
        where incident_messages.thread_root_key = changed_threads.thread_root_key
        offset 0
    ) as in_thread
    union
    select source_message_key
    from {{ ref('int_messages_classified') }}
    where classified_at > {{ watermark }}
        and not is_incident
{%- endmacro %}

{#- int_answers_matched's watermark: the start of its last run (its table note, macros/table_notes.sql),
    which its largest matched_at reaches only when that run found an answer. -#}
{% macro matched_through() -%}
    {%- set through = table_note().get('matched_through') -%}
    {%- if through -%}
        greatest({{ processed_since('matched_at') }}, '{{ through }}'::timestamptz)
    {%- else -%}
        {{ processed_since('matched_at') }}
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of int_answers_matched: the rows of the incidents it is about to re-match. -#}
{% macro delete_answers_to_rematch() -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where incident_message_key in ({{ incidents_to_rematch(matched_through()) }})
    {%- else -%}
    select 'built from scratch: nothing to delete'
    {%- endif -%}
{%- endmacro %}

{#- mart_body_rating_monthly's months, as two lists of [month] rows: `refresh` (recomputed now) and
    `postpone` (refreshed less than var rating_refresh_hours ago; kept and marked pending). A month is
    touched when an incident of it was evaluated, or a message of it declassified, since the rating's
    watermark, or when an earlier run postponed it. -#}
{% macro rating_months() -%}
    {%- if not (execute and is_incremental()) -%}
        {{ return({'refresh': [], 'postpone': []}) }}
    {%- endif -%}
    {%- set watermark = processed_since('refreshed_at') -%}
    {%- set has_pending = 'is_refresh_pending' in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) -%}
    {%- set query -%}
        with touched as (
            select distinct date_trunc('month', published_at at time zone {{ time_zone() }})::date as rating_month
            from {{ ref('fct_incidents') }}
            where evaluated_run_at > {{ watermark }}
            union
            select distinct date_trunc('month', published_at at time zone {{ time_zone() }})::date
            from {{ ref('int_messages_classified') }}
            where classified_at > {{ watermark }}
                and not is_incident
            {%- if has_pending %}
            union
            select distinct rating_month from {{ this }} where is_refresh_pending
            {%- endif %}
        )
        select
            touched.rating_month::text,
            exists (
                select 1
                from {{ this }} as rated
                where rated.rating_month = touched.rating_month
                    and rated.refreshed_at > {{ run_started_at_sql() }}
                        - interval '{{ var("rating_refresh_hours") }} hours'
            ) as is_postponed
        from touched
        order by 1
    {%- endset -%}
    {%- set months = {'refresh': [], 'postpone': []} -%}
    {%- for row in run_query(query).rows -%}
        {%- do months['postpone' if row[1] else 'refresh'].append([row[0]]) -%}
    {%- endfor -%}
    {{ return(months) }}
{%- endmacro %}

{#- Pre-hook of mart_body_rating_monthly: the rows of the months it recomputes. -#}
{% macro delete_rating_months_to_refresh() -%}
    {%- set months = rating_months()['refresh'] -%}
    {%- if is_incremental() and not var('rating_as_of_at', none) and months -%}
    delete from {{ this }}
    where rating_month in ({% for month in months %}'{{ month[0] }}'::date{% if not loop.last %}, {% endif %}{% endfor %})
    {%- else -%}
    select 'no month to recompute'
    {%- endif -%}
{%- endmacro %}

{#- mart_incident_spikes' scopes, as [category, municipality, recompute_from] rows: for each category and
    municipality with an incident evaluated since the watermark (or a message declassified, or an incident
    moved away, found through the spikes that hold it), the earliest such point less the window, moved back
    to the start of a stored spike reaching it. No window crosses that instant, so the episodes from it on
    depend only on the incidents from it on. -#}
{% macro spike_scopes() -%}
    {%- if not (execute and is_incremental()) -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set watermark = processed_since('refreshed_at') -%}
    {%- set window = "interval '" ~ var('spike_window_hours') ~ " hours'" -%}
    {%- set query -%}
        with changed as (
            select source_message_key, category_code, municipality_code, published_at
            from {{ ref('fct_incidents') }}
            where evaluated_run_at > {{ watermark }}
            union all
            select source_message_key, null, null, published_at
            from {{ ref('int_messages_classified') }}
            where classified_at > {{ watermark }}
                and not is_incident
        ),
        points as (
            select category_code, municipality_code, published_at - {{ window }} as point
            from changed
            where category_code is not null and municipality_code is not null
            union all
            -- the spikes holding a changed key: a spike holding a message ends at or after its publication,
            -- so only the spikes ending since the earliest changed message are unnested and joined (all of
            -- them cost what the history holds, bench/incremental_cost.py; `&&` compares every changed key
            -- with every spike, 8.5 s for 75,000 changed keys even through a GIN index)
            select spikes.category_code, spikes.municipality_code, spikes.started_at
            from {{ this }} as spikes
            cross join lateral unnest(spikes.source_message_keys) as spike_keys (source_message_key)
            inner join changed
                on changed.source_message_key = spike_keys.source_message_key
            where spikes.last_published_at >= (select min(published_at) from changed)
        ),
        first_points as (
            select category_code, municipality_code, min(point) as point
            from points
            group by category_code, municipality_code
        )
        select
            first_points.category_code,
            first_points.municipality_code,
            least(
                first_points.point,
                (
                    select min(spikes.started_at)
                    from {{ this }} as spikes
                    where spikes.category_code = first_points.category_code
                        and spikes.municipality_code = first_points.municipality_code
                        and spikes.last_published_at + {{ window }} >= first_points.point
                )
            )::text
        from first_points
        order by 1, 2
    {%- endset -%}
    {{ return(query_rows(query)) }}
{%- endmacro %}

{#- Pre-hook of mart_incident_spikes: the spikes it recomputes. -#}
{% macro delete_spikes_to_recompute() -%}
    {%- set scopes = spike_scopes() -%}
    {%- if is_incremental() and scopes -%}
    delete from {{ this }} as spikes
    using ({{ rows_literal(scopes, [('category_code', 'text'), ('municipality_code', 'text'),
        ('recompute_from', 'timestamptz')]) }}) as scopes
    where spikes.category_code = scopes.category_code
        and spikes.municipality_code = scopes.municipality_code
        and spikes.started_at >= scopes.recompute_from
    {%- else -%}
    select 'no spike to recompute'
    {%- endif -%}
{%- endmacro %}

{#- The plan methods that the pre-hooks of int_message_lexicon_hits and int_messages_classified turn off
    ('off') for their own queries, which hash whole batches, and that their strategy delete_insert_planned
    turns back on ('on') for the delete: one list for both. int_messages_classified's full build turns off
    only some of them (`methods`): there its inputs are read whole, in their key indexes' order. -#}
{% macro join_methods_of_whole_batches(setting, methods=['nestloop', 'mergejoin', 'sort', 'memoize']) -%}
    {%- for method in methods %}set local enable_{{ method }} = {{ setting }};{% if not loop.last %} {% endif %}{% endfor -%}
{%- endmacro %}

{#- Incremental strategy `delete_insert_planned`: dbt's delete+insert, run with the planner's defaults. A model
    whose pre-hooks turn nested loops off for its own query (int_messages_classified) would otherwise delete
    its batch's old rows by a hash join over a sequential scan of the whole table, a cost that grows with the
    history; with nested loops the delete looks each key up in the unique key's index. -#}
{% macro get_incremental_delete_insert_planned_sql(arg_dict) -%}
    {{ join_methods_of_whole_batches('on') }}
    {{ get_incremental_delete_insert_sql(arg_dict) }}
{%- endmacro %}
