{{
    config(
        materialized='incremental',
        unique_key='incident_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['incident_id']},
            {'columns': ['evaluated_at']},
        ],
    )
}}

{#- The answers of the incidents (re)evaluated by the latest fct_incidents run, counted as of that
    evaluation. An intermediate answer is on time by the first-answer deadline; a final one by the
    final-answer deadline (7 working days after an intermediate first answer, else the first deadline). -#}

with

incidents as (
    select * from {{ ref('fct_incidents') }}
    {% if is_incremental() %}
    where evaluated_at > {{ processed_since('evaluated_at') }}
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
        incidents.evaluated_at
    from incidents
    inner join matched_answers
        on matched_answers.incident_message_key = incidents.source_message_key
        and matched_answers.answered_at <= incidents.evaluated_at
),

final as (
    select * from answers
)

select * from final
