with

source as (
    select * from {{ source('raw', 'ok_comments') }}
),

versions as (
    select
        *,
        min(loaded_at) over (partition by topic_id, comment_id) as first_loaded_at,
        count(*) over (partition by topic_id, comment_id)       as version_count
    from source
),

latest_version as (
    select distinct on (topic_id, comment_id) *
    from versions
    order by topic_id, comment_id, loaded_at desc, payload_hash
),

renamed as (
    select
        'ok:comment/' || topic_id || '/' || comment_id                        as source_message_key,
        'ok:topic/' || topic_id                                               as topic_message_key,
        topic_id,
        comment_id,
        lower(payload ->> 'author_type')                                      as author_type,
        (payload ->> 'author_id')::bigint                                     as author_id,
        -- date_ms is UTC; `date` is Moscow wall-clock time
        coalesce(
            to_timestamp((payload ->> 'date_ms')::bigint / 1000.0),
            (payload ->> 'date')::timestamp at time zone 'Europe/Moscow'
        )                                                                     as published_at,
        coalesce(payload ->> 'text', '')                                      as message_text,
        payload ->> 'reply_to_comment_id'                                     as reply_to_comment_id,
        (payload ->> 'reply_to_id')::bigint                                   as reply_to_author_id,
        (payload ->> 'like_count')::int                                       as like_count,
        source_id,
        first_loaded_at                                                       as detected_at,
        loaded_at,
        version_count
    from latest_version
)

select * from renamed
