with

source as (
    select * from {{ source('raw', 'telegram_channels') }}
),

latest_version as (
    {{ latest_payload_version('source', ['channel_id']) }}
),

typeable as (
    select * from latest_version
    where {{ untyped_reason('telegram_channels') }} is null
),

-- ChatFull lists the channel itself and its discussion group in `chats`: pick the channel's entry
with_channel_entity as (
    select
        *,
        jsonb_path_query_first(
            payload, '$.chats[*] ? (@.id == $id)', jsonb_build_object('id', channel_id)
        ) as channel_entity
    from typeable
),

renamed as (
    select
        channel_id,
        channel_entity ->> 'title'                                            as channel_title,
        channel_entity ->> 'username'                                         as username,
        coalesce({{ safe_boolean("channel_entity ->> 'verified'") }}, false)  as is_verified,
        coalesce({{ safe_boolean("channel_entity ->> 'broadcast'") }}, false) as is_broadcast,
        coalesce({{ safe_boolean("channel_entity ->> 'scam'") }}, false)      as is_scam,
        coalesce({{ safe_boolean("channel_entity ->> 'fake'") }}, false)      as is_fake,
        coalesce(channel_entity -> 'photo' ->> '_', 'ChatPhotoEmpty') <> 'ChatPhotoEmpty'
                                                                              as has_photo,
        {{ safe_timestamptz("channel_entity ->> 'date'") }}                   as created_at,
        payload -> 'full_chat' ->> 'about'                                    as description,
        {{ safe_int("payload -> 'full_chat' ->> 'participants_count'") }}     as subscriber_count,
        {{ safe_bigint("payload -> 'full_chat' ->> 'linked_chat_id'") }}      as discussion_peer_id,
        {{ safe_bigint("payload -> 'full_chat' ->> 'pinned_msg_id'") }}       as pinned_message_id,
        source_id,
        first_loaded_at,
        loaded_at
    from with_channel_entity
)

select * from renamed
