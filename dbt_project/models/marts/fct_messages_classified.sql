{{
    config(
        materialized='incremental',
        unique_key='source_message_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        post_hook=[
            "delete from {{ this }} as mart where not exists (select 1 from {{ ref('int_messages_classified') }} as classified where classified.source_message_key = mart.source_message_key)"
        ],
    )
}}

with

classified as (
    select * from {{ ref('int_messages_classified') }}
),

changed as (
    select *
    from classified
    {% if is_incremental() %}
    where not exists (
        select 1
        from {{ this }} as mart
        where mart.source_message_key = classified.source_message_key
            and mart.loaded_at = classified.loaded_at
            and mart.rule_version = classified.rule_version
    )
    {% endif %}
),

final as (
    select
        source_message_key,
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
        duplicate_of_message_key
    from changed
)

select * from final
