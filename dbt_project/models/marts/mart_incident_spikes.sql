{{
    config(
        materialized='incremental',
        unique_key='spike_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['spike_id']},
        ],
    )
}}

{#- Spikes: var spike_min_incidents (5) or more incidents of one category in one municipality within
    var spike_window_hours (3) hours of each other, e.g. a water outage in one district. Overlapping
    windows make one alert, with its incidents' messages. An incremental run recomputes the spikes around
    the incidents evaluated since its last run (an alert keeps its id, the hash of its start, as it grows). -#}

with

incidents as (
    select * from {{ ref('fct_incidents') }}
),

{% if is_incremental() %}
-- the categories and municipalities with incidents evaluated since the last run, around their times
touched as (
    select
        category_code,
        municipality_code,
        min(published_at) - interval '{{ var("spike_window_hours") }} hours' as from_at,
        max(published_at) + interval '{{ var("spike_window_hours") }} hours' as to_at
    from incidents
    where evaluated_at >= (select max(evaluated_at) from {{ ref('fct_incidents') }})
    group by category_code, municipality_code
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
    inner join touched
        on touched.category_code = incidents.category_code
        and touched.municipality_code = incidents.municipality_code
        and incidents.published_at between touched.from_at and touched.to_at
    {% endif %}
    where incidents.category_code is not null and incidents.municipality_code is not null
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
        max(located.evaluated_at)                                       as evaluated_at
    from episodes
    inner join located
        on located.category_code = episodes.category_code
        and located.municipality_code = episodes.municipality_code
        and located.published_at >= episodes.started_at
        and located.published_at <= episodes.window_ends_at
    group by episodes.category_code, episodes.municipality_code, episodes.started_at
)

select * from final
