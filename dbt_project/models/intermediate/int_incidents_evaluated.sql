{#- The post-hook's partial index holds the incidents waiting for a final answer whose final deadline lay
    ahead when last evaluated: the clock's second arm (to_evaluate) reads them there instead of scanning every
    incident. dbt's `indexes` make no partial index; after a full refresh the name is still the backup's, so
    the next run makes it. -#}
{{
    config(
        materialized='incremental',
        unique_key='source_message_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['source_message_key']},
            {'columns': ['evaluated_run_at']},
            {'columns': ['evaluated_at']},
            {'columns': ['sla_status']},
        ],
        pre_hook=["{{ delete_no_longer_incidents('evaluated_run_at') }}"],
        post_hook=["{{ create_index_if_missing('int_incidents_evaluated_final_deadline_pending',
            '(final_deadline_at) where final_answer_at is null and final_deadline_at >= evaluated_at') }}"],
    )
}}

{#- Each incident with its SLA clock, deadlines, answers and status as of as_of_at (REGULATION.md):
    - clock start: detection, or publication when detected more than var backfill_detection_lag_hours
      after it (backfill);
    - first answer due var first_answer_working_hours working hours after the clock start
      (first_answer_working_hours_high for high importance), in the bodies' working time;
    - after an intermediate first answer, the final one is due by the end of the
      var final_answer_working_days-th working day after it; otherwise by the first deadline;
    - answers published after as_of_at are not counted.
    An incremental run re-evaluates the incidents classified, answered or merged with a copy since its
    watermark, the open ones whose deadline has passed since (now overdue), and those whose final deadline
    has passed since without a final answer: the status of any other cannot have changed, so an hourly run
    costs what is new, not what is open. Before that it deletes the messages declassified since. -#}

with

-- not materialized: each use reads its rows through the tables' indexes (the batch by its stamp, the
-- incidents by key), where a materialized CTE copied the whole history of each table every run
classified as not materialized (
    select * from {{ ref('int_messages_classified') }}
),

matched_answers as not materialized (
    select * from {{ ref('int_answers_matched') }}
),

incident_messages as not materialized (
    select * from {{ ref('int_incident_messages') }}
),

{% if is_incremental() %}
to_evaluate as (
    select source_message_key
    from classified
    where classified_at > {{ processed_since('evaluated_run_at') }}
        and is_incident
    union
    select incident_message_key
    from matched_answers
    where matched_at > {{ processed_since('evaluated_run_at') }}
    union
    select incident_message_key
    from incident_messages
    where classified_at > {{ processed_since('evaluated_run_at') }}
    union
    -- re-matched, perhaps to no answer at all (an account no longer registered)
    {{ incidents_to_rematch(processed_since('evaluated_run_at')) }}
    union
    -- the clock: open ones past their first deadline, and those waiting for a final answer past the final one
    select source_message_key
    from {{ this }}
    where sla_status = 'open'
        and deadline_at < {{ as_of_at() }}
    union
    select source_message_key
    from {{ this }}
    where final_answer_at is null
        and final_deadline_at < {{ as_of_at() }}
        and final_deadline_at >= evaluated_at
),

-- looked up one by one through the key's index (offset 0 keeps the lookup a correlated subquery): joined
-- to a set Postgres overestimates, the incidents were hashed from a scan of every classified message
classified_to_evaluate as (
    select evaluated.*
    from to_evaluate
    cross join lateral (
        select *
        from classified
        where classified.source_message_key = to_evaluate.source_message_key
        offset 0
    ) as evaluated
),
{% endif %}

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
    from {% if is_incremental() %}classified_to_evaluate{% else %}classified{% endif %}
    where is_incident
),

merged_counts as (
    select incident_message_key, count(*)::integer as merged_message_count
    from incident_messages
    where incident_message_key in (select source_message_key from incidents)
    group by incident_message_key
),

answers as (
    select *
    from matched_answers
    where answered_at <= {{ as_of_at() }}
        and incident_message_key in (select source_message_key from incidents)
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
                then round(
                    (
                        {{ working_minutes_at('answer_summaries.first_answer_at') }}
                        - {{ working_minutes_at('incidents.clock_start_at') }}
                    )::numeric / 60,
                    2
                )
        end                                                                 as working_hours_to_first_answer,
        coalesce(merged_counts.merged_message_count, 1)                     as merged_message_count,
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
    left join merged_counts
        on merged_counts.incident_message_key = incidents.source_message_key
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
        working_hours_to_first_answer,
        merged_message_count,
        is_overridden,
        override_by,
        override_reason,
        evaluated_at,
        {{ run_started_at_sql() }}      as evaluated_run_at,
        message_text,
        rule_version
    from evaluated
)

select * from final
