with

source as (
    select * from {{ source('raw', 'telegram_channels') }}
),

versions as (
    select
        *,
        min(loaded_at) over (partition by channel_id) as first_loaded_at
    from source
),

latest_version as (
    select distinct on (channel_id) *
    from versions
    order by channel_id, loaded_at desc, payload_hash
),

-- ChatFull lists the channel itself and its discussion group in `chats`: pick the channel's entry
with_channel_entity as (
    select
        *,
        jsonb_path_query_first(
            payload, '$.chats[*] ? (@.id == $id)', jsonb_build_object('id', channel_id)
        ) as channel_entity
    from latest_version
),

renamed as (
    select
        channel_id,
        channel_entity ->> 'title'                                          as channel_title,
        channel_entity ->> 'username'                                       as username,
        coalesce((channel_entity ->> 'verified')::boolean, false)           as is_verified,
        coalesce((channel_entity ->> 'broadcast')::boolean, false)          as is_broadcast,
        coalesce((channel_entity ->> 'scam')::boolean, false)               as is_scam,
        coalesce((channel_entity ->> 'fake')::boolean, false)               as is_fake,
        coalesce(channel_entity -> 'photo' ->> '_', 'ChatPhotoEmpty') <> 'ChatPhotoEmpty'
                                                                            as has_photo,
        (channel_entity ->> 'date')::timestamptz                            as created_at,
        payload -> 'full_chat' ->> 'about'                                  as description,
        (payload -> 'full_chat' ->> 'participants_count')::int              as subscriber_count,
        (payload -> 'full_chat' ->> 'linked_chat_id')::bigint               as discussion_peer_id,
        (payload -> 'full_chat' ->> 'pinned_msg_id')::bigint                as pinned_message_id,
        source_id,
        first_loaded_at,
        loaded_at
    from with_channel_entity
)

select * from renamed
