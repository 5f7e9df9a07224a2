{{ config(materialized='view', alias='fct_incidents') }}

{#- marts.fct_incidents for BI: the incidents' facts, with nothing that identifies the citizen: an opaque
    incident id, no text, link, message key or thread (those are in casework.fct_incidents). -#}

with

incidents as (
    select * from {{ ref('fct_incidents') }}
),

final as (
    select
        bi_incident_id                  as incident_id,
        platform,
        category_code,
        responsible_body_code,
        municipality_code,
        importance,
        message_kind,
        published_at,
        detected_at,
        clock_start_at,
        deadline_at,
        final_deadline_at,
        first_answer_at,
        final_answer_at,
        sla_status,
        working_hours_to_first_answer,
        merged_message_count,
        author_key,
        is_overridden,
        rule_version,
        evaluated_at,
        loaded_at
    from incidents
)

select * from final
