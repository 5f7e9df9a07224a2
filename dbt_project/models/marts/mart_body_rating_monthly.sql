{{
    config(
        materialized='incremental',
        unique_key='rating_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['rating_month']},
        ],
        pre_hook=["{{ delete_rating_months_to_refresh() }}"],
    )
}}

{#- The monthly rating of the bodies (REGULATION.md), per body and municipality and per body in all:
    first answers on time, working hours to the first answer, overdue, final answers on time, and a
    green/yellow/red zone. A body is rated with var rating_min_incidents (2) or more incidents.
    Months are Moscow calendar months of publication. Shares count the incidents whose deadline has come
    (answered, or unanswered past the deadline); open ones not yet due are left out.
    With var rating_as_of_at set (an ISO instant), the statuses come from snap_incident_status as they
    were at that instant, so a month's rating can be recomputed exactly as it was published (run it with
    --full-refresh, and again without the var to come back to the current rating).
    An incremental run recomputes whole the months touched since its watermark (an incident evaluated,
    a message declassified), and those it postponed before: a month refreshed less than var
    rating_refresh_hours ago is postponed (a month's figures cost all its incidents) and marked
    is_refresh_pending until a run refreshes it. The pre-hook deletes the rows of the months recomputed,
    so that a body or municipality without incidents any more leaves no row. -#}

-- depends_on: {{ ref('int_messages_classified') }}
with

{% if var('rating_as_of_at', none) %}
incidents as (
    select *
    from {{ ref('snap_incident_status') }}
    where dbt_valid_from <= '{{ var("rating_as_of_at") }}'::timestamptz
        and (dbt_valid_to is null or dbt_valid_to > '{{ var("rating_as_of_at") }}'::timestamptz)
),
{% elif is_incremental() %}
-- the months to recompute (rating_months_to_refresh), known when the model compiles: the pre-hook has
-- deleted their rows by the time this query runs
months_to_refresh as (
    {{ rows_literal(rating_months()['refresh'], [('rating_month', 'date')]) }}
),

incidents as (
    select fct_incidents.*
    from {{ ref('fct_incidents') }} as fct_incidents
    inner join months_to_refresh
        on fct_incidents.published_at >= months_to_refresh.rating_month::timestamp at time zone {{ time_zone() }}
        and fct_incidents.published_at
            < (months_to_refresh.rating_month + interval '1 month')::timestamp at time zone {{ time_zone() }}
),

-- the months refreshed less than var rating_refresh_hours ago: kept as they are, marked pending
postponed as (
    select rated.*
    from {{ this }} as rated
    inner join ({{ rows_literal(rating_months()['postpone'], [('rating_month', 'date')]) }}) as months
        on months.rating_month = rated.rating_month
),
{% else %}
incidents as (
    select * from {{ ref('fct_incidents') }}
),
{% endif %}

rated_incidents as (
    select
        date_trunc('month', published_at at time zone {{ time_zone() }})::date    as rating_month,
        responsible_body_code,
        municipality_code,
        sla_status,
        working_hours_to_first_answer,
        final_answer_at is not null and final_answer_at <= final_deadline_at     as is_final_on_time,
        final_answer_at is not null or final_deadline_at < evaluated_at          as is_final_due,
        sla_status <> 'open'                                                     as is_first_due,
        evaluated_at
    from incidents
    where responsible_body_code is not null
),

measured as (
    select
        rating_month,
        responsible_body_code,
        municipality_code,
        case when grouping(municipality_code) = 1 then 'body' else 'body_municipality' end  as rating_scope,
        count(*)::integer                                                            as incident_count,
        count(*) filter (where is_first_due)::integer                                as due_incident_count,
        count(*) filter (where sla_status = 'answered_on_time')::integer             as first_answers_on_time_count,
        count(*) filter (where sla_status = 'overdue')::integer                      as overdue_count,
        round(avg(working_hours_to_first_answer), 2)                                 as mean_working_hours_to_first_answer,
        round(
            (percentile_cont(0.5) within group (order by working_hours_to_first_answer))::numeric, 2
        )                                                                            as median_working_hours_to_first_answer,
        count(*) filter (where is_final_due)::integer                                as final_due_count,
        count(*) filter (where is_final_due and is_final_on_time)::integer           as final_answers_on_time_count,
        max(evaluated_at)                                                            as statuses_evaluated_at
    from rated_incidents
    group by grouping sets (
        (rating_month, responsible_body_code),
        (rating_month, responsible_body_code, municipality_code)
    )
),

shares as (
    select
        *,
        round(first_answers_on_time_count::numeric / nullif(due_incident_count, 0), 4)  as first_answers_on_time_share,
        round(overdue_count::numeric / nullif(due_incident_count, 0), 4)                 as overdue_share,
        round(final_answers_on_time_count::numeric / nullif(final_due_count, 0), 4)      as final_answers_on_time_share,
        incident_count >= {{ var('rating_min_incidents') }}                              as is_rated
    from measured
    -- incidents without a municipality count in the body's total only
    where rating_scope = 'body' or municipality_code is not null
),

final as (
    select
        md5(rating_month || '|' || responsible_body_code || '|' || coalesce(municipality_code, '*'))
                                                    as rating_key,
        rating_month,
        responsible_body_code,
        municipality_code,
        rating_scope,
        incident_count,
        due_incident_count,
        first_answers_on_time_count,
        first_answers_on_time_share,
        mean_working_hours_to_first_answer,
        median_working_hours_to_first_answer,
        overdue_count,
        overdue_share,
        final_due_count,
        final_answers_on_time_count,
        final_answers_on_time_share,
        is_rated,
        case
            when not is_rated or first_answers_on_time_share is null then null
            when first_answers_on_time_share < {{ var('rating_red_below_on_time_share') }}
                or overdue_share > {{ var('rating_red_above_overdue_share') }}
                then 'red'
            when first_answers_on_time_share >= {{ var('rating_green_min_on_time_share') }}
                and overdue_share <= {{ var('rating_green_max_overdue_share') }}
                then 'green'
            else 'yellow'
        end                                         as rating_zone,
        statuses_evaluated_at,
        {{ run_started_at_sql() }}                  as refreshed_at,
        false                                       as is_refresh_pending
    from shares
    {%- if is_incremental() and not var('rating_as_of_at', none) %}
    union all
    select
        rating_key,
        rating_month,
        responsible_body_code,
        municipality_code,
        rating_scope,
        incident_count,
        due_incident_count,
        first_answers_on_time_count,
        first_answers_on_time_share,
        mean_working_hours_to_first_answer,
        median_working_hours_to_first_answer,
        overdue_count,
        overdue_share,
        final_due_count,
        final_answers_on_time_count,
        final_answers_on_time_share,
        is_rated,
        rating_zone,
        statuses_evaluated_at,
        refreshed_at,
        true                                        as is_refresh_pending
    from postponed
    {%- endif %}
)

select * from final
