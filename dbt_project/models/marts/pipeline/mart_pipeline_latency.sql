{{
    config(
        materialized='incremental',
        unique_key='run_id',
        on_schema_change='append_new_columns',
        full_refresh=false,
    )
}}

{#- One row per finished transform cycle (a complete `dbt build` that succeeded, ops.transform_runs):
    the messages it read (loaded after the previous cycle's data cut-off, up to its own), how long
    after publication their incidents reached the marts (the cycle's end), and the build's duration.
    A cycle appears from the next build on (the running one has no end yet); an incremental run adds
    the cycles after the last it holds. A log of measurements, like a snapshot: a full refresh keeps it
    (full_refresh=false), since a message edited later would move to a later cycle's window. -#}

with

cycles as (
    select
        run_id,
        started_at,
        finished_at,
        as_of_at,
        lag(data_cutoff_at) over (order by run_id) as previous_cutoff_at,
        data_cutoff_at
    from {{ source('ops', 'transform_runs') }}
    where success
        and selector is null
        and split_part(command, ' ', 1) = 'build'
        and finished_at is not null
),

new_cycles as (
    select *
    from cycles
    {% if is_incremental() %}
    where run_id > (select coalesce(max(run_id), 0) from {{ this }})
    {% endif %}
),

messages_read as (
    select
        new_cycles.run_id,
        count(messages.source_message_key) as messages_read
    from new_cycles
    left join {{ ref('fct_messages_classified') }} as messages
        on messages.loaded_at > coalesce(new_cycles.previous_cutoff_at, '-infinity')
        and messages.loaded_at <= new_cycles.data_cutoff_at
    group by new_cycles.run_id
),

incident_delays as (
    select
        new_cycles.run_id,
        extract(epoch from new_cycles.finished_at - incidents.published_at) as delay_seconds
    from new_cycles
    inner join {{ ref('fct_incidents') }} as incidents
        on incidents.loaded_at > coalesce(new_cycles.previous_cutoff_at, '-infinity')
        and incidents.loaded_at <= new_cycles.data_cutoff_at
),

delays as (
    select
        run_id,
        count(*) as incidents_created,
        percentile_cont(0.5) within group (order by delay_seconds) as delay_p50_seconds,
        percentile_cont(0.95) within group (order by delay_seconds) as delay_p95_seconds
    from incident_delays
    group by run_id
),

final as (
    select
        new_cycles.run_id,
        new_cycles.started_at,
        new_cycles.finished_at,
        new_cycles.as_of_at,
        new_cycles.previous_cutoff_at,
        new_cycles.data_cutoff_at,
        messages_read.messages_read,
        coalesce(delays.incidents_created, 0) as incidents_created,
        round(delays.delay_p50_seconds::numeric, 1) as delay_p50_seconds,
        round(delays.delay_p95_seconds::numeric, 1) as delay_p95_seconds,
        round(extract(epoch from new_cycles.finished_at - new_cycles.started_at)::numeric, 1)
            as transform_seconds
    from new_cycles
    inner join messages_read on messages_read.run_id = new_cycles.run_id
    left join delays on delays.run_id = new_cycles.run_id
)

select * from final
