{{
    config(
        materialized='incremental',
        schema='casework',
        unique_key='source_message_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['classified_at']},
            {'columns': ['loaded_at']},
        ],
    )
}}

{#- casework.fct_messages_classified: every message's verdict with its key, link and thread, for the
    officers; BI reads marts.fct_messages_classified (bi_fct_messages_classified) with opaque ids instead.
    An incremental run copies the rows int_messages_classified wrote since the last one (classified_at). -#}

with

classified as (
    select * from {{ ref('int_messages_classified') }}
),

changed as (
    select *
    from classified
    {% if is_incremental() %}
    where classified_at > {{ processed_since('classified_at') }}
    {% endif %}
),

final as (
    select
        source_message_key,
        {{ opaque_id('message', 'source_message_key') }}     as bi_message_id,
        thread_root_key,
        platform,
        published_at,
        is_incident,
        non_incident_reason,
        category_code,
        responsible_body_code,
        municipality_code,
        importance,
        rule_version,
        message_kind,
        message_url,
        detected_at,
        loaded_at,
        municipality_source,
        duplicate_of_message_key,
        {{ opaque_id('message', 'duplicate_of_message_key') }} as bi_duplicate_of_message_id,
        is_overridden,
        override_by,
        override_reason,
        classified_at
    from changed
)

select * from final
