with

source as (
    select * from {{ source('raw', 'telegram_messages') }}
),

latest_version as (
    {{ latest_payload_version('source', ['peer_id', 'message_id']) }}
),

typeable as (
    select * from latest_version
    where {{ untyped_reason('telegram_messages') }} is null
),

renamed as (
    select
        {{ telegram_message_key('peer_id', 'message_id') }}                               as source_message_key,
        peer_id,
        message_id,
        payload ->> '_'                                                                   as message_type,
        coalesce({{ safe_boolean("payload ->> 'post'") }}, false)                         as is_channel_post,
        payload -> 'from_id' ->> '_'                                                      as sender_peer_type,
        {{ safe_bigint(
            "coalesce(payload -> 'from_id' ->> 'user_id', payload -> 'from_id' ->> 'channel_id',"
            ~ " payload -> 'from_id' ->> 'chat_id')"
        ) }}                                                                              as sender_id,
        payload ->> 'post_author'                                                         as post_signature,
        {{ safe_timestamptz("payload ->> 'date'") }}                                      as published_at,
        {{ safe_timestamptz("payload ->> 'edit_date'") }}                                 as edited_at,
        coalesce({{ safe_text("payload -> 'message'") }}, '')                             as message_text,
        {{ safe_bigint("payload -> 'reply_to' ->> 'reply_to_msg_id'") }}                  as reply_to_message_id,
        {{ safe_bigint("payload -> 'reply_to' ->> 'reply_to_top_id'") }}                  as reply_to_top_message_id,
        {{ safe_bigint("payload -> 'reply_to' -> 'reply_to_peer_id' ->> 'channel_id'") }} as reply_to_peer_id,
        payload -> 'reply_to' ->> 'quote_text'                                            as quote_text,
        {{ safe_bigint("payload -> 'fwd_from' -> 'saved_from_peer' ->> 'channel_id'") }}  as forwarded_from_peer_id,
        {{ safe_bigint("payload -> 'fwd_from' ->> 'saved_from_msg_id'") }}                as forwarded_from_message_id,
        {{ safe_bigint("payload -> 'fwd_from' ->> 'channel_post'") }}                     as forwarded_channel_post_id,
        {{ safe_bigint("payload -> 'replies' ->> 'channel_id'") }}                        as discussion_peer_id,
        coalesce({{ safe_boolean("payload -> 'replies' ->> 'comments'") }}, false)        as has_discussion,
        {{ safe_int("payload -> 'replies' ->> 'replies'") }}                              as reply_count,
        {{ safe_int("payload ->> 'views'") }}                                             as view_count,
        {{ safe_int("payload ->> 'forwards'") }}                                          as forward_count,
        coalesce({{ safe_boolean("payload ->> 'pinned'") }}, false)                       as is_pinned,
        source_id,
        first_loaded_at                                                                   as detected_at,
        loaded_at,
        version_count
    from typeable
)

select * from renamed
