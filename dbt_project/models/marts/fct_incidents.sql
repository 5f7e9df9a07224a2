{{
    config(
        materialized='incremental',
        schema='casework',
        unique_key='incident_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['source_message_key']},
            {'columns': ['evaluated_at']},
            {'columns': ['evaluated_run_at']},
            {'columns': ['published_at']},
            {'columns': ['loaded_at']},
        ],
        pre_hook=["{{ delete_no_longer_incidents('evaluated_run_at') }}"],
    )
}}

{#- casework.fct_incidents: the officers' incidents, with the citizen's text (contacts masked), link and
    thread. BI reads marts.fct_incidents (bi_fct_incidents), the same facts without them.
    An incremental run copies the incidents int_incidents_evaluated (re)evaluated since the ones it copied
    last (evaluated_run_at), and first deletes the messages declassified since. -#}

-- depends_on: {{ ref('int_messages_classified') }}
with

evaluated as (
    select * from {{ ref('int_incidents_evaluated') }}
),

to_evaluate as (
    select *
    from evaluated
    {% if is_incremental() %}
    -- evaluated_at is the SLA clock (as_of_at), not the run: the run's stamp tells what is new
    where evaluated_run_at > {{ processed_since('evaluated_run_at') }}
    {% endif %}
),

threads as (
    select source_message_key, thread_root_key
    from {{ ref('int_messages_classified') }}
),

final as (
    select
        md5(to_evaluate.source_message_key)                     as incident_id,
        {{ opaque_id('incident', 'to_evaluate.source_message_key') }} as bi_incident_id,
        platform,
        message_url,
        to_evaluate.source_message_key,
        threads.thread_root_key,
        category_code,
        responsible_body_code,
        municipality_code,
        importance,
        published_at,
        detected_at,
        deadline_at,
        first_answer_at,
        final_answer_at,
        sla_status,
        rule_version,
        message_kind,
        clock_start_at,
        final_deadline_at,
        evaluated_at,
        loaded_at,
        {{ author_pseudonym('platform', 'author_id') }}         as author_key,
        {{ mask_contacts('message_text') }}                      as message_text,
        working_hours_to_first_answer,
        merged_message_count,
        is_overridden,
        override_by,
        override_reason,
        evaluated_run_at
    from to_evaluate
    left join threads
        on threads.source_message_key = to_evaluate.source_message_key
)

select * from final
