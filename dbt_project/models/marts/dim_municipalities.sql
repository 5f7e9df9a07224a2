with

municipalities as (
    select * from {{ ref('municipalities') }}
),

settlements as (
    select * from {{ ref('settlements') }}
),

monitored_communities as (
    select * from {{ ref('monitored_communities') }}
),

settlement_counts as (
    select municipality_code, count(*)::integer as settlement_count
    from settlements
    group by municipality_code
),

community_counts as (
    select municipality_code, count(*)::integer as monitored_community_count
    from monitored_communities
    group by municipality_code
),

final as (
    select
        municipalities.code,
        municipalities.name_ru,
        municipalities.type                                          as municipality_type,
        municipalities.admin_center_ru,
        municipalities.oktmo,
        municipalities.status_note,
        coalesce(settlement_counts.settlement_count, 0)              as settlement_count,
        coalesce(community_counts.monitored_community_count, 0)      as monitored_community_count
    from municipalities
    left join settlement_counts
        on settlement_counts.municipality_code = municipalities.code
    left join community_counts
        on community_counts.municipality_code = municipalities.code
)

select * from final
