with

source as (
    select * from {{ source('raw', 'telegram_messages') }}
),

versions as (
    select
        *,
        min(loaded_at) over (partition by peer_id, message_id) as first_loaded_at,
        count(*) over (partition by peer_id, message_id)       as version_count
    from source
),

latest_version as (
    select distinct on (peer_id, message_id) *
    from versions
    order by peer_id, message_id, loaded_at desc, payload_hash
),

renamed as (
    select
        'telegram:' || peer_id || '/' || message_id                          as source_message_key,
        peer_id,
        message_id,
        payload ->> '_'                                                      as message_type,
        coalesce((payload ->> 'post')::boolean, false)                       as is_channel_post,
        payload -> 'from_id' ->> '_'                                         as sender_peer_type,
        coalesce(
            payload -> 'from_id' ->> 'user_id',
            payload -> 'from_id' ->> 'channel_id',
            payload -> 'from_id' ->> 'chat_id'
        )::bigint                                                            as sender_id,
        payload ->> 'post_author'                                            as post_signature,
        (payload ->> 'date')::timestamptz                                    as published_at,
        (payload ->> 'edit_date')::timestamptz                               as edited_at,
        coalesce(payload ->> 'message', '')                                  as message_text,
        (payload -> 'reply_to' ->> 'reply_to_msg_id')::bigint                as reply_to_message_id,
        (payload -> 'reply_to' ->> 'reply_to_top_id')::bigint                as reply_to_top_message_id,
        (payload -> 'reply_to' -> 'reply_to_peer_id' ->> 'channel_id')::bigint as reply_to_peer_id,
        payload -> 'reply_to' ->> 'quote_text'                               as quote_text,
        (payload -> 'fwd_from' -> 'saved_from_peer' ->> 'channel_id')::bigint as forwarded_from_peer_id,
        (payload -> 'fwd_from' ->> 'saved_from_msg_id')::bigint              as forwarded_from_message_id,
        (payload -> 'fwd_from' ->> 'channel_post')::bigint                   as forwarded_channel_post_id,
        (payload -> 'replies' ->> 'channel_id')::bigint                      as discussion_peer_id,
        coalesce((payload -> 'replies' ->> 'comments')::boolean, false)      as has_discussion,
        (payload -> 'replies' ->> 'replies')::int                            as reply_count,
        (payload ->> 'views')::int                                           as view_count,
        (payload ->> 'forwards')::int                                        as forward_count,
        coalesce((payload ->> 'pinned')::boolean, false)                     as is_pinned,
        source_id,
        first_loaded_at                                                      as detected_at,
        loaded_at,
        version_count
    from latest_version
)

select * from renamed
