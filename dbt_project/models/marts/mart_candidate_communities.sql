{#- Communities outside the registry where search found incidents, per week (Moscow time): evidence for
    the analysts that the registry should grow. A message of a community nobody registered can only have
    come through a keyword search (seeds/registry/search_queries.csv) or a file ingested by hand; an
    official account's own wall is no candidate. Each row carries the registry row to add
    (seeds/registry/monitored_communities.csv), with the municipality its incidents name most. -#}

with

incidents as (
    select * from {{ ref('int_incidents_evaluated') }}
),

monitored_communities as (
    select * from {{ ref('monitored_communities') }}
),

official_accounts as (
    select * from {{ ref('official_accounts') }}
),

outside_the_registry as (
    select
        incidents.community_key,
        incidents.platform,
        incidents.municipality_code,
        incidents.published_at,
        date_trunc('week', incidents.published_at at time zone '{{ var("time_zone") }}')::date  as week_start
    from incidents
    left join monitored_communities
        on monitored_communities.source_id = incidents.community_key
    left join official_accounts
        on official_accounts.account_key = incidents.community_key
    where monitored_communities.source_id is null
        and official_accounts.account_key is null
        and incidents.community_key is not null
),

communities as (
    select
        community_key,
        platform,
        count(*)                                                        as total_incident_count,
        min(published_at)                                               as first_seen_at,
        max(published_at)                                               as last_seen_at,
        mode() within group (order by municipality_code)                as suggested_municipality_code
    from outside_the_registry
    group by community_key, platform
),

weeks as (
    select
        community_key,
        week_start,
        count(*)                                                        as incident_count,
        coalesce(
            array_agg(distinct municipality_code order by municipality_code)
                filter (where municipality_code is not null),
            '{}'
        )                                                               as municipality_codes
    from outside_the_registry
    group by community_key, week_start
),

final as (
    select
        weeks.community_key || '/' || weeks.week_start                  as candidate_week_id,
        weeks.community_key,
        communities.platform,
        weeks.week_start,
        weeks.incident_count::integer                                   as incident_count,
        weeks.municipality_codes,
        communities.total_incident_count::integer                       as total_incident_count,
        communities.first_seen_at,
        communities.last_seen_at,
        communities.suggested_municipality_code,
        -- the row to add to seeds/registry/monitored_communities.csv (screen name and name to fill in)
        concat_ws(',',
            communities.community_key,
            communities.platform,
            ltrim(split_part(communities.community_key, ':', 2), '-'),
            '',
            '',
            coalesce(communities.suggested_municipality_code, '')
        )                                                               as suggested_registry_row
    from weeks
    inner join communities
        on communities.community_key = weeks.community_key
)

select * from final
