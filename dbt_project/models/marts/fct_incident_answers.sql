{{
    config(
        materialized='incremental',
        unique_key='incident_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['incident_id']},
            {'columns': ['evaluated_at']},
            {'columns': ['evaluated_run_at']},
        ],
        pre_hook=["{{ delete_answers_of_reevaluated_incidents() }}"],
    )
}}

{#- The answers of the incidents (re)evaluated since the ones this model copied last (evaluated_run_at),
    counted as of that evaluation. An intermediate answer is on time by the first-answer deadline; a final
    one by the final-answer deadline (7 working days after an intermediate first answer, else the first
    deadline). Before the insert, the answers of those incidents, and of the messages declassified since,
    are deleted: an incident re-evaluated with fewer answers (or none) keeps no stale one. -#}

-- depends_on: {{ ref('int_messages_classified') }}
with

incidents as (
    select * from {{ ref('fct_incidents') }}
    {% if is_incremental() %}
    where evaluated_run_at > {{ processed_since('evaluated_run_at') }}
    {% endif %}
),

matched_answers as (
    select * from {{ ref('int_answers_matched') }}
),

answers as (
    select
        incidents.incident_id,
        matched_answers.answer_message_key,
        matched_answers.account_key,
        matched_answers.account_body_code                                      as responsible_body_code,
        matched_answers.answered_at,
        matched_answers.answer_kind,
        matched_answers.answered_at <= coalesce(
            case when matched_answers.answer_kind = 'final' then incidents.final_deadline_at else incidents.deadline_at end,
            'infinity'::timestamptz
        )                                                                      as is_on_time,
        matched_answers.platform,
        incidents.responsible_body_code = matched_answers.account_body_code    as is_by_responsible_body,
        incidents.evaluated_at,
        incidents.evaluated_run_at
    from incidents
    inner join matched_answers
        on matched_answers.incident_message_key = incidents.source_message_key
        and matched_answers.answered_at <= incidents.evaluated_at
),

final as (
    select * from answers
)

select * from final
