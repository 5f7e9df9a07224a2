with

source as (
    select * from {{ source('raw', 'vk_comments') }}
),

versions as (
    select
        *,
        min(loaded_at) over (partition by owner_id, comment_id) as first_loaded_at,
        count(*) over (partition by owner_id, comment_id)       as version_count
    from source
),

latest_version as (
    select distinct on (owner_id, comment_id) *
    from versions
    order by owner_id, comment_id, loaded_at desc, payload_hash
),

renamed as (
    select
        'vk:comment' || owner_id || '_' || post_id || '_' || comment_id as source_message_key,
        'vk:wall' || owner_id || '_' || post_id                         as post_message_key,
        owner_id,
        post_id,
        comment_id,
        (payload ->> 'from_id')::bigint                                 as author_id,
        to_timestamp((payload ->> 'date')::bigint)                      as published_at,
        coalesce(payload ->> 'text', '')                                as message_text,
        -- parents_stack holds the top-level comment of a thread reply; empty for a top-level comment
        (payload -> 'parents_stack' ->> 0)::bigint                      as thread_comment_id,
        (payload ->> 'reply_to_comment')::bigint                        as reply_to_comment_id,
        (payload ->> 'reply_to_user')::bigint                           as reply_to_user_id,
        (payload -> 'thread' ->> 'count')::int                          as thread_reply_count,
        (payload -> 'likes' ->> 'count')::int                           as like_count,
        coalesce(payload ->> 'deleted' in ('1', 'true'), false)         as is_deleted,
        source_id,
        first_loaded_at                                                 as detected_at,
        loaded_at,
        version_count
    from latest_version
)

select * from renamed
