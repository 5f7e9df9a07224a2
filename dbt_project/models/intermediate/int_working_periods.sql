{{
    config(
        materialized='table',
        indexes=[{'columns': ['period_start_at']}],
    )
}}

{#- The working-time axis of SLA deadlines; the same SQL runs inside the add_working_minutes macro.
    Its index is dbt's (a name of its own on every build): a post-hook's fixed name was still held by the
    backup table when the hook ran, so every other build left the table without one. -#}
with

periods as (
    {{ working_periods_sql(ref('working_calendar')) }}
),

final as (
    select
        calendar_date,
        period_number,
        period_start_at,
        period_end_at,
        period_minutes,
        minutes_before,
        minutes_at_end
    from periods
)

select * from final
