{{
    config(
        materialized='incremental',
        schema='casework',
        unique_key='source_message_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['merged_at']},
            {'columns': ['incident_id']},
        ],
        pre_hook=["{{ delete_no_longer_incidents('merged_at', incident_column='incident_id', hashed=true, keep_duplicates=true) }}"],
    )
}}

-- depends_on: {{ ref('int_messages_classified') }}
with

incident_messages as (
    select * from {{ ref('int_incident_messages') }}
    {% if is_incremental() %}
    where classified_at > {{ processed_since('merged_at') }}
    {% endif %}
),

final as (
    select
        md5(incident_message_key)   as incident_id,
        {{ opaque_id('incident', 'incident_message_key') }} as bi_incident_id,
        source_message_key,
        {{ opaque_id('message', 'source_message_key') }} as bi_message_id,
        is_primary,
        merge_depth,
        platform,
        message_url,
        published_at,
        classified_at               as merged_at
    from incident_messages
)

select * from final
