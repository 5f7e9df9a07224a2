{{ config(materialized='view', alias='fct_messages_classified') }}

{#- marts.fct_messages_classified for BI: every message's verdict under an opaque message id, without its
    key, link or thread (casework.fct_messages_classified has them). -#}

with

messages as (
    select * from {{ ref('fct_messages_classified') }}
),

final as (
    select
        bi_message_id                   as message_id,
        platform,
        message_kind,
        published_at,
        detected_at,
        is_incident,
        non_incident_reason,
        category_code,
        responsible_body_code,
        municipality_code,
        municipality_source,
        importance,
        bi_duplicate_of_message_id      as duplicate_of_message_id,
        is_overridden,
        rule_version,
        loaded_at,
        classified_at
    from messages
)

select * from final
