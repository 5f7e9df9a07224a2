with

vk_posts as (
    select * from {{ ref('stg_vk__posts') }}
),

vk_comments as (
    select * from {{ ref('stg_vk__comments') }}
),

official_accounts as (
    select * from {{ ref('official_accounts') }}
),

monitored_communities as (
    select * from {{ ref('monitored_communities') }}
),

vk_post_messages as (
    select
        source_message_key,
        'vk'                                                    as platform,
        'post'                                                  as message_kind,
        author_id::text                                         as author_id,
        case when author_id < 0 and signer_id is null then 'community' else 'user' end
                                                                as author_kind,
        'vk:' || owner_id                                       as community_key,
        source_message_key                                      as thread_root_key,
        null::text                                              as parent_message_key,
        null::text                                              as reply_thread_key,
        published_at,
        detected_at,
        loaded_at,
        message_text,
        'https://vk.com/wall' || owner_id || '_' || post_id     as message_url,
        is_marked_as_ads,
        is_deleted
    from vk_posts
),

vk_comment_messages as (
    select
        source_message_key,
        'vk'                                                    as platform,
        'comment'                                               as message_kind,
        author_id::text                                         as author_id,
        case when author_id < 0 then 'community' else 'user' end
                                                                as author_kind,
        'vk:' || owner_id                                       as community_key,
        post_message_key                                        as thread_root_key,
        case
            when reply_to_comment_id is not null
                then 'vk:comment' || owner_id || '_' || post_id || '_' || reply_to_comment_id
            when thread_comment_id is not null
                then 'vk:comment' || owner_id || '_' || post_id || '_' || thread_comment_id
            else post_message_key
        end                                                     as parent_message_key,
        'vk:comment' || owner_id || '_' || post_id || '_'
            || coalesce(thread_comment_id, comment_id)          as reply_thread_key,
        published_at,
        detected_at,
        loaded_at,
        message_text,
        'https://vk.com/wall' || owner_id || '_' || post_id
            || '?reply=' || comment_id                          as message_url,
        false                                                   as is_marked_as_ads,
        is_deleted
    from vk_comments
),

-- Telegram and OK messages join here as further branches with the same columns.
unioned as (
    select * from vk_post_messages
    union all
    select * from vk_comment_messages
),

final as (
    select
        unioned.source_message_key,
        unioned.platform,
        unioned.message_kind,
        unioned.author_id,
        case when official_accounts.account_key is not null then 'official' else unioned.author_kind end
                                                                as author_kind,
        official_accounts.account_key is not null              as author_is_official,
        official_accounts.account_key,
        official_accounts.body_code                             as account_body_code,
        unioned.community_key,
        monitored_communities.source_id is not null             as is_monitored_community,
        monitored_communities.municipality_code                 as community_municipality_code,
        unioned.thread_root_key,
        unioned.parent_message_key,
        unioned.reply_thread_key,
        unioned.published_at,
        unioned.detected_at,
        unioned.loaded_at,
        unioned.message_text,
        unioned.message_url,
        unioned.is_marked_as_ads,
        unioned.is_deleted
    from unioned
    left join official_accounts
        on official_accounts.account_key = unioned.platform || ':' || unioned.author_id
    left join monitored_communities
        on monitored_communities.source_id = unioned.community_key
)

select * from final
