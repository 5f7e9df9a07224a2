{{ config(materialized='table') }}

{#- Each incident with its SLA clock, deadlines, answers and status as of as_of_at (REGULATION.md):
    - clock start: detection, or publication when detected more than var backfill_detection_lag_hours
      after it (backfill);
    - first answer due var first_answer_working_hours working hours after the clock start
      (first_answer_working_hours_high for high importance), in the bodies' working time;
    - after an intermediate first answer, the final one is due by the end of the
      var final_answer_working_days-th working day after it; otherwise by the first deadline;
    - answers published after as_of_at are not counted. -#}

with

classified as (
    select * from {{ ref('int_messages_classified') }}
),

matched_answers as (
    select * from {{ ref('int_answers_matched') }}
),

incidents as (
    select
        *,
        case
            when detected_at > published_at + interval '{{ var("backfill_detection_lag_hours") }} hours'
                then published_at
            else detected_at
        end                                                                         as clock_start_at,
        60 * case
            when importance = 'high' then {{ var('first_answer_working_hours_high') }}
            else {{ var('first_answer_working_hours') }}
        end                                                                         as sla_working_minutes
    from classified
    where is_incident
),

answers as (
    select *
    from matched_answers
    where answered_at <= {{ as_of_at() }}
),

first_deadlines as (
    {{ add_working_minutes('incidents', 'source_message_key', 'clock_start_at', 'sla_working_minutes') }}
),

answer_summaries as (
    select
        incident_message_key,
        min(answered_at)                                               as first_answer_at,
        min(answered_at) filter (where answer_kind = 'final')          as final_answer_at,
        min(answered_at) filter (where answer_kind = 'intermediate')   as first_intermediate_answer_at
    from answers
    group by incident_message_key
),

intermediate_first as (
    select
        incident_message_key,
        first_intermediate_answer_at,
        {{ var('final_answer_working_days') }} as final_answer_working_days
    from answer_summaries
    where first_intermediate_answer_at = first_answer_at
),

final_deadlines as (
    {{ add_working_days('intermediate_first', 'incident_message_key', 'first_intermediate_answer_at', 'final_answer_working_days') }}
),

evaluated as (
    select
        incidents.*,
        first_deadlines.deadline_at,
        coalesce(final_deadlines.deadline_at, first_deadlines.deadline_at)  as final_deadline_at,
        answer_summaries.first_answer_at,
        answer_summaries.final_answer_at,
        case
            when answer_summaries.first_answer_at is not null
                and answer_summaries.first_answer_at <= coalesce(first_deadlines.deadline_at, 'infinity')
                then 'answered_on_time'
            when answer_summaries.first_answer_at is not null
                then 'answered_late'
            when first_deadlines.deadline_at < {{ as_of_at() }}
                then 'overdue'
            else 'open'
        end                                                                 as sla_status,
        {{ as_of_at() }}                                                    as evaluated_at
    from incidents
    left join first_deadlines
        on first_deadlines.deadline_key = incidents.source_message_key
    left join answer_summaries
        on answer_summaries.incident_message_key = incidents.source_message_key
    left join final_deadlines
        on final_deadlines.deadline_key = incidents.source_message_key
),

final as (
    select
        source_message_key,
        platform,
        message_kind,
        message_url,
        author_id,
        community_key,
        category_code,
        responsible_body_code,
        municipality_code,
        importance,
        published_at,
        detected_at,
        loaded_at,
        clock_start_at,
        sla_working_minutes,
        deadline_at,
        final_deadline_at,
        first_answer_at,
        final_answer_at,
        sla_status,
        evaluated_at,
        message_text,
        rule_version
    from evaluated
)

select * from final
