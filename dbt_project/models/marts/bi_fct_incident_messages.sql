{{ config(materialized='view', alias='fct_incident_messages') }}

{#- marts.fct_incident_messages for BI: which messages were merged into which incident, by opaque ids. -#}

with

incident_messages as (
    select * from {{ ref('fct_incident_messages') }}
),

final as (
    select
        bi_incident_id                  as incident_id,
        bi_message_id                   as message_id,
        is_primary,
        merge_depth,
        platform,
        published_at,
        merged_at
    from incident_messages
)

select * from final
