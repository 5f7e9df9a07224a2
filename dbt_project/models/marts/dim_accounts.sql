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

platform_metadata as (
    select
        'vk:' || owner_id      as account_key,
        group_name             as platform_name,
        screen_name            as platform_screen_name,
        is_verified,
        has_photo,
        is_cover_enabled,
        description,
        site,
        contact_count,
        member_count,
        access_level,
        wall_mode,
        deactivated_reason,
        loaded_at              as metadata_loaded_at
    from vk_groups
    union all
    select
        'telegram:' || channel_id                       as account_key,
        channel_title                                   as platform_name,
        username                                        as platform_screen_name,
        is_verified,
        has_photo,
        null::boolean                                   as is_cover_enabled,
        description,
        null::text                                      as site,
        null::int                                       as contact_count,
        subscriber_count                                as member_count,
        null::int                                       as access_level,
        null::int                                       as wall_mode,
        null::text                                      as deactivated_reason,
        loaded_at                                       as metadata_loaded_at
    from telegram_channels
    union all
    select
        'ok:' || group_id                               as account_key,
        group_name                                      as platform_name,
        screen_name                                     as platform_screen_name,
        null::boolean                                   as is_verified,
        avatar_url is not null                          as has_photo,
        has_main_photo                                  as is_cover_enabled,
        description,
        site,
        (phone is not null)::int + (address is not null)::int as contact_count,
        member_count,
        case access_type when 'OPEN' then 0 when 'CLOSED' then 1 else 2 end as access_level,
        null::int                                       as wall_mode,
        null::text                                      as deactivated_reason,
        loaded_at                                       as metadata_loaded_at
    from ok_groups
),

final as (
    select
        official_accounts.account_key,
        official_accounts.platform,
        official_accounts.account_id,
        official_accounts.screen_name,
        official_accounts.body_code,
        official_accounts.tier,
        official_accounts.name_ru,
        platform_metadata.account_key is not null     as has_metadata,
        platform_metadata.platform_name,
        platform_metadata.platform_screen_name,
        platform_metadata.is_verified,
        platform_metadata.has_photo,
        platform_metadata.is_cover_enabled,
        platform_metadata.description,
        platform_metadata.site,
        platform_metadata.contact_count,
        platform_metadata.member_count,
        platform_metadata.access_level,
        platform_metadata.wall_mode,
        platform_metadata.deactivated_reason,
        platform_metadata.metadata_loaded_at
    from official_accounts
    left join platform_metadata
        on platform_metadata.account_key = official_accounts.account_key
)

select * from final
