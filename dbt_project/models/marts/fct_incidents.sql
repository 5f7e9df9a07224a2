{{
    config(
        materialized='incremental',
        unique_key='incident_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        post_hook=[
            "delete from {{ this }} as mart where not exists (select 1 from {{ ref('int_messages_classified') }} as classified where classified.source_message_key = mart.source_message_key and classified.is_incident)"
        ],
    )
}}

{#- An incremental run re-evaluates every incident except those already closed (a final answer seen)
    from the same message version under the same rule_version, evaluated no later than as_of_at. -#}

with

evaluated as (
    select * from {{ ref('int_incidents_evaluated') }}
),

to_evaluate as (
    select *
    from evaluated
    {% if is_incremental() %}
    where not exists (
        select 1
        from {{ this }} as mart
        where mart.source_message_key = evaluated.source_message_key
            and mart.final_answer_at is not null
            and mart.loaded_at = evaluated.loaded_at
            and mart.rule_version = evaluated.rule_version
            and mart.evaluated_at <= evaluated.evaluated_at
    )
    {% endif %}
),

final as (
    select
        md5(source_message_key)                                 as incident_id,
        platform,
        message_url,
        source_message_key,
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
        message_text
    from to_evaluate
)

select * from final
