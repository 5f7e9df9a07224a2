with

source as (
    select * from {{ source('raw', 'vk_comments') }}
),

latest_version as (
    {{ latest_payload_version('source', ['owner_id', 'comment_id']) }}
),

typeable as (
    select * from latest_version
    where {{ untyped_reason('vk_comments') }} is null
),

renamed as (
    select
        {{ vk_comment_key('owner_id', 'post_id', 'comment_id') }} as source_message_key,
        {{ vk_post_key('owner_id', 'post_id') }}                  as post_message_key,
        owner_id,
        post_id,
        comment_id,
        {{ safe_bigint("payload ->> 'from_id'") }}                as author_id,
        {{ safe_epoch_timestamp("payload ->> 'date'") }}          as published_at,
        coalesce({{ safe_text("payload -> 'text'") }}, '')        as message_text,
        -- parents_stack holds the top-level comment of a thread reply; empty for a top-level comment
        {{ safe_bigint("payload -> 'parents_stack' ->> 0") }}     as thread_comment_id,
        {{ safe_bigint("payload ->> 'reply_to_comment'") }}       as reply_to_comment_id,
        {{ safe_bigint("payload ->> 'reply_to_user'") }}          as reply_to_user_id,
        {{ safe_int("payload -> 'thread' ->> 'count'") }}         as thread_reply_count,
        {{ safe_int("payload -> 'likes' ->> 'count'") }}          as like_count,
        coalesce(payload ->> 'deleted' in ('1', 'true'), false)   as is_deleted,
        source_id,
        first_loaded_at                                           as detected_at,
        loaded_at,
        version_count
    from typeable
)

select * from renamed
