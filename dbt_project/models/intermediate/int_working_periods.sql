{{
    config(
        materialized='table',
        post_hook=["create index if not exists {{ this.name }}_start_idx on {{ this }} (period_start_at)"],
    )
}}

{#- The working-time axis of SLA deadlines; the same SQL runs inside the add_working_minutes macro. -#}
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
