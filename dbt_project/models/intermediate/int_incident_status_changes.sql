{{ config(materialized='ephemeral') }}

{#- The incidents fct_incidents (re)wrote in its latest run: what snap_incident_status compares, so that
    a run's snapshot costs the new evaluations, not the whole history. -#}

with

incidents as (
    select * from {{ ref('fct_incidents') }}
),

final as (
    select *
    from incidents
    where evaluated_at >= (select max(evaluated_at) from {{ ref('fct_incidents') }})
)

select * from final
