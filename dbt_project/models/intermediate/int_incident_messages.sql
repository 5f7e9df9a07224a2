{{
    config(
        materialized='incremental',
        unique_key='source_message_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['source_message_key']},
            {'columns': ['incident_message_key']},
            {'columns': ['thread_root_key']},
            {'columns': ['classified_at']},
        ],
        pre_hook=["{{ delete_no_longer_incidents('classified_at', incident_column='incident_message_key', keep_duplicates=true) }}"],
    )
}}

{#- Every incident with the messages merged into it (REGULATION.md: the same problem posted several times or
    in several networks is one incident): the incident's own message, and each duplicate, followed through
    chains (a copy of a copy) to the incident it repeats. An incremental run adds the messages classified
    since its watermark, joining copies of earlier incidents to them; before that it deletes the messages
    declassified since (and the messages merged into them). -#}

with recursive

classified as (
    select * from {{ ref('int_messages_classified') }}
),

changed as (
    select *
    from classified
    where (is_incident or non_incident_reason = 'duplicate')
    {% if is_incremental() %}
        and classified_at > {{ processed_since('classified_at') }}
    {% endif %}
),

changed_duplicates as (
    select source_message_key, duplicate_of_message_key
    from changed
    where non_incident_reason = 'duplicate'
        and duplicate_of_message_key is not null
),

-- the batch's incidents, and (incrementally) the batch's copies of messages merged in earlier runs
starts as (
    select source_message_key as incident_message_key, source_message_key, 0 as merge_depth
    from changed
    where is_incident
    {% if is_incremental() %}
    union all
    select earlier.incident_message_key, changed_duplicates.source_message_key, earlier.merge_depth + 1
    from changed_duplicates
    inner join {{ this }} as earlier
        on earlier.source_message_key = changed_duplicates.duplicate_of_message_key
    {% endif %}
),

merged (incident_message_key, source_message_key, merge_depth) as (
    select incident_message_key, source_message_key, merge_depth
    from starts
    union all
    select merged.incident_message_key, changed_duplicates.source_message_key, merged.merge_depth + 1
    from merged
    inner join changed_duplicates
        on changed_duplicates.duplicate_of_message_key = merged.source_message_key
    where merged.merge_depth < 20
),

final as (
    select distinct on (merged.source_message_key)
        merged.incident_message_key,
        merged.source_message_key,
        merged.merge_depth = 0          as is_primary,
        merged.merge_depth,
        changed.platform,
        changed.message_kind,
        changed.message_url,
        changed.thread_root_key,
        changed.parent_message_key,
        changed.reply_thread_key,
        changed.published_at,
        changed.classified_at
    from merged
    inner join changed
        on changed.source_message_key = merged.source_message_key
    order by merged.source_message_key, merged.merge_depth
)

select * from final
