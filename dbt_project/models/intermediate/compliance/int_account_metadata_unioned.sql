{#- The latest platform metadata of every registered official account, in one shape for all networks:
    what snap_account_metadata keeps as history. Only facts read from the platform (no judgement): the
    checks derive their flags from these in int_account_metadata_versions, so a change of a rule also
    applies to the history. -#}

with

official_accounts as (
    select * from {{ ref('official_accounts') }}
),

vk_groups as (
    select * from {{ ref('stg_vk__groups') }}
),

telegram_channels as (
    select * from {{ ref('stg_telegram__channels') }}
),

ok_groups as (
    select * from {{ ref('stg_ok__groups') }}
),

vk_metadata as (
    select
        'vk:' || owner_id                                                   as account_key,
        'vk'                                                                as platform,
        group_name                                                          as account_name,
        screen_name                                                         as platform_screen_name,
        deactivated_reason,
        coalesce(access_level, 0) > 0                                       as is_closed,
        -- groups.getById gives photo_200 always: VK's stub image when the community has no avatar
        has_photo
            or coalesce(photo_url !~ '/images/(community|camera|deactivated)_', false)
                                                                            as has_avatar,
        is_cover_enabled                                                    as has_cover,
        description,
        nullif(site, '')                                                    as profile_site,
        contact_phones                                                      as profile_phone,
        contact_emails                                                      as profile_email,
        null::text                                                          as profile_address,
        is_verified,
        -- wall: 0 off, 1 open, 2 limited (only the community posts, everyone comments), 3 closed
        case when wall_mode is not null then wall_mode in (1, 2) end        as has_open_comments,
        member_count                                                        as follower_count,
        null::timestamptz                                                   as created_at,
        loaded_at                                                           as metadata_loaded_at
    from vk_groups
),

telegram_metadata as (
    select
        'telegram:' || channel_id                                           as account_key,
        'telegram'                                                          as platform,
        channel_title                                                       as account_name,
        username                                                            as platform_screen_name,
        case when is_scam then 'scam' when is_fake then 'fake' end          as deactivated_reason,
        false                                                               as is_closed,
        has_photo                                                           as has_avatar,
        null::boolean                                                       as has_cover,
        description,
        null::text                                                          as profile_site,
        null::text                                                          as profile_phone,
        null::text                                                          as profile_email,
        null::text                                                          as profile_address,
        is_verified,
        -- comments on channel posts live in the linked discussion group
        discussion_peer_id is not null                                      as has_open_comments,
        subscriber_count                                                    as follower_count,
        created_at,
        loaded_at                                                           as metadata_loaded_at
    from telegram_channels
),

ok_metadata as (
    select
        'ok:' || group_id                                                   as account_key,
        'ok'                                                                as platform,
        group_name                                                          as account_name,
        screen_name                                                         as platform_screen_name,
        null::text                                                          as deactivated_reason,
        coalesce(access_type, 'OPEN') <> 'OPEN'                             as is_closed,
        coalesce(avatar_url, '') <> '' or has_main_photo                    as has_avatar,
        null::boolean                                                       as has_cover,
        description,
        nullif(site, '')                                                    as profile_site,
        nullif(phone, '')                                                   as profile_phone,
        null::text                                                          as profile_email,
        nullif(address, '')                                                 as profile_address,
        null::boolean                                                       as is_verified,
        -- OK has no group-wide switch in group.getInfo: comments are judged from the topics
        null::boolean                                                       as has_open_comments,
        member_count                                                        as follower_count,
        created_at,
        loaded_at                                                           as metadata_loaded_at
    from ok_groups
),

unioned as (
    select * from vk_metadata
    union all
    select * from telegram_metadata
    union all
    select * from ok_metadata
),

final as (
    select unioned.*
    from unioned
    inner join official_accounts
        on official_accounts.account_key = unioned.account_key
)

select * from final
