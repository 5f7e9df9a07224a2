with

source as (
    select * from {{ source('raw', 'ok_comments') }}
),

latest_version as (
    {{ latest_payload_version('source', ['topic_id', 'comment_id']) }}
),

typeable as (
    select * from latest_version
    where {{ untyped_reason('ok_comments') }} is null
),

renamed as (
    select
        {{ ok_comment_key('topic_id', 'comment_id') }}     as source_message_key,
        {{ ok_topic_key('topic_id') }}                     as topic_message_key,
        topic_id,
        comment_id,
        lower(payload ->> 'author_type')                   as author_type,
        {{ safe_bigint("payload ->> 'author_id'") }}       as author_id,
        -- date_ms is UTC; `date` is Moscow wall-clock time
        coalesce(
            {{ safe_epoch_timestamp("payload ->> 'date_ms'", 1000) }},
            {{ safe_timestamp("payload ->> 'date'") }} at time zone {{ time_zone() }}
        )                                                  as published_at,
        coalesce({{ safe_text("payload -> 'text'") }}, '') as message_text,
        payload ->> 'reply_to_comment_id'                  as reply_to_comment_id,
        {{ safe_bigint("payload ->> 'reply_to_id'") }}     as reply_to_author_id,
        {{ safe_int("payload ->> 'like_count'") }}         as like_count,
        source_id,
        first_loaded_at                                    as detected_at,
        loaded_at,
        version_count
    from typeable
)

select * from renamed
