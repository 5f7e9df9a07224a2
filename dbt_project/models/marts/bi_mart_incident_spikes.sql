{{ config(materialized='view', alias='mart_incident_spikes') }}

{#- marts.mart_incident_spikes for BI: the spikes without their messages' keys and links. -#}

with

spikes as (
    select * from {{ ref('mart_incident_spikes') }}
),

final as (
    select
        spike_id,
        category_code,
        municipality_code,
        started_at,
        last_published_at,
        incident_count,
        evaluated_at,
        refreshed_at
    from spikes
)

select * from final
