{#- The instant the SLA status is evaluated at: var as_of_at, or the start of this dbt invocation
    (the same instant in every model of a run). -#}
{% macro as_of_at() -%}
    {%- if var('as_of_at', none) -%}
        '{{ var("as_of_at") }}'::timestamptz
    {%- else -%}
        '{{ run_started_at.isoformat() }}'::timestamptz
    {%- endif -%}
{%- endmacro %}

{#- "Now" for what is read between builds (a view): var as_of_at when a run sets it, else the query's
    own now(). -#}
{% macro as_of_at_or_now() -%}
    {%- if var('as_of_at', none) -%}
        '{{ var("as_of_at") }}'::timestamptz
    {%- else -%}
        now()
    {%- endif -%}
{%- endmacro %}

{#- A stable pseudonym of an author: HMAC-SHA-256 of the platform and the author id, keyed by the
    warehouse's secret (ops.pseudonym, plugins/socmon/warehouse/roles.py): the key is in no compiled SQL. -#}
{% macro author_pseudonym(platform, author_id) -%}
    ops.pseudonym({{ platform }}, ({{ author_id }})::text)
{%- endmacro %}

{#- Working periods (two a working day: before and after the break) as UTC instants, on a working-time
    axis: minutes_before = working minutes of all earlier periods. Calendar times are Europe/Moscow. -#}
{% macro working_periods_sql(calendar) %}
    with working_days as (
        select
            calendar_date,
            (calendar_date + work_start) at time zone {{ time_zone() }}  as work_start_at,
            (calendar_date + break_start) at time zone {{ time_zone() }} as break_start_at,
            (calendar_date + break_end) at time zone {{ time_zone() }}   as break_end_at,
            (calendar_date + work_end) at time zone {{ time_zone() }}    as work_end_at
        from {{ calendar }}
        where is_working_day
    ),

    periods as (
        select calendar_date, 1 as period_number, work_start_at as period_start_at, break_start_at as period_end_at
        from working_days
        union all
        select calendar_date, 2 as period_number, break_end_at as period_start_at, work_end_at as period_end_at
        from working_days
    ),

    measured as (
        select
            *,
            round(extract(epoch from period_end_at - period_start_at) / 60)::integer as period_minutes
        from periods
        where period_end_at > period_start_at
    )

    select
        calendar_date,
        period_number,
        period_start_at,
        period_end_at,
        period_minutes,
        coalesce(sum(period_minutes) over preceding_periods, 0)   as minutes_before,
        coalesce(sum(period_minutes) over preceding_periods, 0)
            + period_minutes                                      as minutes_at_end
    from measured
    window preceding_periods as (order by period_start_at rows between unbounded preceding and 1 preceding)
{% endmacro %}

{#- Deadlines in working time, set-based: for each row of `starts` (a relation or CTE name), the instant
    when `minutes` working minutes have elapsed after `start_at`. A clock that starts outside working
    time (or before the calendar's first day) starts at the next working period. Returns (deadline_key,
    start_at, working_minutes, deadline_at); deadline_at is null only beyond the calendar's last day. Sort-based (two window passes), no range joins.
    1. Place each start on the working-time axis: the last period starting at or before it gives
       minutes_before plus the part of that period already elapsed (all of it when the start is after
       the period's end).
    2. Target = position + minutes; the last period with minutes_before < target holds the deadline. -#}
{% macro add_working_minutes(starts, key, start_at, minutes, calendar=none) %}
    with periods as (
        {{ working_periods_sql(calendar or ref('working_calendar')) }}
    ),

    clock_starts as (
        select
            {{ key }}        as deadline_key,
            {{ start_at }}   as start_at,
            {{ minutes }}    as working_minutes
        from {{ starts }}
        where {{ start_at }} is not null and {{ minutes }} is not null
    ),

    start_timeline as (
        select deadline_key, start_at as event_at, 1 as event_order, null::timestamptz as period_start_at
        from clock_starts
        union all
        select null as deadline_key, period_start_at as event_at, 0 as event_order, period_start_at
        from periods
    ),

    start_periods as (
        select
            deadline_key,
            max(period_start_at) over (order by event_at, event_order rows unbounded preceding) as period_start_at
        from start_timeline
    ),

    positions as (
        select
            clock_starts.deadline_key,
            clock_starts.start_at,
            clock_starts.working_minutes,
            periods.minutes_before
                + least(
                    periods.period_minutes,
                    greatest(0, extract(epoch from clock_starts.start_at - periods.period_start_at) / 60)
                )
                + clock_starts.working_minutes                    as target_minutes
        from clock_starts
        inner join start_periods
            on start_periods.deadline_key = clock_starts.deadline_key
        -- a clock that starts before the calendar's first period starts at that period (a backfilled
        -- message older than the calendar): its deadline is never null
        inner join periods
            on periods.period_start_at = coalesce(
                start_periods.period_start_at, (select min(period_start_at) from periods)
            )
    ),

    target_timeline as (
        select deadline_key, target_minutes as axis_minutes, 0 as event_order, null::numeric as minutes_before
        from positions
        union all
        select null as deadline_key, minutes_before as axis_minutes, 1 as event_order, minutes_before
        from periods
    ),

    target_periods as (
        select
            deadline_key,
            max(minutes_before) over (order by axis_minutes, event_order rows unbounded preceding) as minutes_before
        from target_timeline
    )

    select
        clock_starts.deadline_key,
        clock_starts.start_at,
        clock_starts.working_minutes,
        case
            when positions.target_minutes <= periods.minutes_at_end
                then periods.period_start_at
                    + make_interval(secs => ((positions.target_minutes - periods.minutes_before) * 60)::double precision)
        end as deadline_at
    from clock_starts
    left join positions
        on positions.deadline_key = clock_starts.deadline_key
    left join target_periods
        on target_periods.deadline_key = clock_starts.deadline_key
    left join periods
        on periods.minutes_before = target_periods.minutes_before
{% endmacro %}

{#- Deadlines in working days: for each row of `starts`, the end of the `days`-th working day after the
    (Moscow) date of `start_at`. Returns (deadline_key, start_at, working_days, deadline_at). -#}
{% macro add_working_days(starts, key, start_at, days, calendar=none) %}
    with calendar_days as (
        select
            calendar_date,
            is_working_day,
            (calendar_date + work_end) at time zone {{ time_zone() }} as work_end_at,
            count(*) filter (where is_working_day) over (order by calendar_date) as working_days_through
        from {{ calendar or ref('working_calendar') }}
    ),

    clock_starts as (
        select
            {{ key }}        as deadline_key,
            {{ start_at }}   as start_at,
            {{ days }}       as working_days
        from {{ starts }}
        where {{ start_at }} is not null and {{ days }} is not null
    )

    select
        clock_starts.deadline_key,
        clock_starts.start_at,
        clock_starts.working_days,
        due_day.work_end_at as deadline_at
    from clock_starts
    left join calendar_days as start_day
        on start_day.calendar_date = (clock_starts.start_at at time zone {{ time_zone() }})::date
    left join calendar_days as due_day
        on due_day.is_working_day
        and due_day.working_days_through = start_day.working_days_through + clock_starts.working_days
{% endmacro %}

{#- The position of an instant on the working-time axis (int_working_periods): working minutes of all
    earlier periods plus the elapsed part of its own. The difference of two positions is the working time
    between them (e.g. from the clock start to the first answer). -#}
{% macro working_minutes_at(instant) -%}
    coalesce(
        (
            select
                periods.minutes_before
                + least(
                    periods.period_minutes,
                    greatest(0, extract(epoch from ({{ instant }}) - periods.period_start_at) / 60)
                )
            from {{ ref('int_working_periods') }} as periods
            where periods.period_start_at <= ({{ instant }})
            order by periods.period_start_at desc
            limit 1
        ),
        0
    )
{%- endmacro %}
