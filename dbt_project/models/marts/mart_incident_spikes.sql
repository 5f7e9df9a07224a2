{#- The post-hook's index serves spike_scopes (macros/incremental.sql), which reads the spikes ending since
    the earliest changed message; a post-hook, so that a table built before gets it too. -#}
{{
    config(
        materialized='incremental',
        schema='casework',
        unique_key='spike_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['category_code', 'municipality_code', 'started_at']},
        ],
        pre_hook=["{{ delete_spikes_to_recompute() }}"],
        post_hook=["{{ create_index_if_missing('mart_incident_spikes_last_published_at', '(last_published_at)') }}"],
    )
}}

{#- casework.mart_incident_spikes (the alerts list the messages' keys and links); BI reads
    marts.mart_incident_spikes (bi_mart_incident_spikes) without them.
    Spikes: var spike_min_incidents (5) or more incidents of one category in one municipality within
    var spike_window_hours (3) hours of each other, e.g. a water outage in one district. Overlapping
    windows make one alert, with its incidents' messages; its id is the hash of its category, municipality
    and start. An incremental run recomputes, for each category and municipality with an incident evaluated
    or declassified since its watermark, every episode from a point no window crosses (spike_scopes) to
    the end; the pre-hook deletes the spikes it recomputes, so an episode that grows backwards, splits or
    shrinks leaves no stale row beside the new one. -#}

-- depends_on: {{ ref('int_messages_classified') }}
with

incidents as (
    select * from {{ ref('fct_incidents') }}
),

{% if is_incremental() %}
{%- set scope_rows = spike_scopes() %}
{%- set recompute_starts = [] %}
{%- for scope in scope_rows %}{% do recompute_starts.append("'" ~ scope[2] ~ "'::timestamptz") %}{% endfor %}
-- known when the model compiles: the pre-hook has deleted these spikes by the time this query runs
scopes as (
    {{ rows_literal(scope_rows, [('category_code', 'text'), ('municipality_code', 'text'),
        ('recompute_from', 'timestamptz')]) }}
),
{% endif %}

located as (
    select
        incidents.incident_id,
        incidents.source_message_key,
        incidents.message_url,
        incidents.category_code,
        incidents.municipality_code,
        incidents.published_at,
        incidents.evaluated_at
    from incidents
    {% if is_incremental() %}
    inner join scopes
        on scopes.category_code = incidents.category_code
        and scopes.municipality_code = incidents.municipality_code
        and incidents.published_at >= scopes.recompute_from
    {% endif %}
    where incidents.category_code is not null and incidents.municipality_code is not null
    {%- if is_incremental() %}
        -- the earliest scope's start as a constant: the published_at index reads the days since, where
        -- the join alone scanned every incident (3 million at 10.5 million messages, 2 GB from disk)
        and incidents.published_at >= {% if recompute_starts %}least({{ recompute_starts | join(', ') }}){% else %}'infinity'::timestamptz{% endif %}
    {%- endif %}
),

-- for each incident, how many of its kind follow within the window (itself included)
windows as (
    select
        *,
        count(*) over (
            partition by category_code, municipality_code
            order by published_at
            range between current row and interval '{{ var("spike_window_hours") }} hours' following
        )                                                                   as window_incident_count,
        published_at + interval '{{ var("spike_window_hours") }} hours'     as window_ends_at
    from located
),

spike_windows as (
    select *
    from windows
    where window_incident_count >= {{ var('spike_min_incidents') }}
),

-- overlapping windows are one episode: a new one starts after every earlier window has ended
episode_starts as (
    select
        *,
        case
            when published_at <= max(window_ends_at) over (
                partition by category_code, municipality_code
                order by published_at, incident_id
                rows between unbounded preceding and 1 preceding
            ) then 0
            else 1
        end as starts_episode
    from spike_windows
),

episodes as (
    select
        category_code,
        municipality_code,
        min(published_at)   as started_at,
        max(window_ends_at) as window_ends_at
    from (
        select
            *,
            sum(starts_episode) over (
                partition by category_code, municipality_code
                order by published_at, incident_id
                rows unbounded preceding
            ) as episode_number
        from episode_starts
    ) as numbered
    group by category_code, municipality_code, episode_number
),

final as (
    select
        md5(episodes.category_code || '|' || episodes.municipality_code || '|' || episodes.started_at)
                                                                        as spike_id,
        episodes.category_code,
        episodes.municipality_code,
        episodes.started_at,
        max(located.published_at)                                       as last_published_at,
        count(*)::integer                                               as incident_count,
        array_agg(located.source_message_key order by located.published_at, located.incident_id)
                                                                        as source_message_keys,
        array_agg(located.message_url order by located.published_at, located.incident_id)
                                                                        as message_urls,
        max(located.evaluated_at)                                       as evaluated_at,
        {{ run_started_at_sql() }}                                      as refreshed_at
    from episodes
    inner join located
        on located.category_code = episodes.category_code
        and located.municipality_code = episodes.municipality_code
        and located.published_at >= episodes.started_at
        and located.published_at <= episodes.window_ends_at
    group by episodes.category_code, episodes.municipality_code, episodes.started_at
)

select * from final
