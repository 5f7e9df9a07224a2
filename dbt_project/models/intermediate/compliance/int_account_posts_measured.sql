{#- The official accounts' own posts (published as the account, on its own wall, channel or group) with
    their engagement (ACC-07, ACC-08, ACC-10):
    - ERpost = (likes + reposts + comments) / followers × 100, with the followers of the metadata version
      valid when the post was published (the earliest version for a post older than the first reading);
    - ERview = the same sum / views × 100;
    - null when there are no followers or no views: never a division by zero.
    Telegram reactions are not in staging yet, so a Telegram post's likes are null (counted as 0);
    OK gives no views. -#}

with

official_accounts as (
    select * from {{ ref('official_accounts') }}
),

vk_posts as (
    select * from {{ ref('stg_vk__posts') }}
),

telegram_messages as (
    select * from {{ ref('stg_telegram__messages') }}
),

ok_topics as (
    select * from {{ ref('stg_ok__topics') }}
),

metadata_versions as (
    select * from {{ ref('int_account_metadata_versions') }}
),

vk_account_posts as (
    select
        vk_posts.source_message_key                                          as post_key,
        official_accounts.account_key,
        'vk'                                                                 as platform,
        vk_posts.published_at,
        vk_posts.is_pinned,
        vk_posts.like_count,
        vk_posts.repost_count,
        vk_posts.comment_count,
        vk_posts.view_count,
        null::boolean                                                        as is_commenting_open,
        {{ vk_post_url('vk_posts.owner_id', 'vk_posts.post_id') }}       as post_url
    from vk_posts
    inner join official_accounts
        on official_accounts.account_key = 'vk:' || vk_posts.owner_id
    where vk_posts.author_id = vk_posts.owner_id
        and not vk_posts.is_deleted
),

telegram_account_posts as (
    select
        telegram_messages.source_message_key                                 as post_key,
        official_accounts.account_key,
        'telegram'                                                           as platform,
        telegram_messages.published_at,
        telegram_messages.is_pinned,
        null::integer                                                        as like_count,
        telegram_messages.forward_count                                      as repost_count,
        case when telegram_messages.has_discussion then coalesce(telegram_messages.reply_count, 0) else 0 end
                                                                             as comment_count,
        telegram_messages.view_count,
        telegram_messages.has_discussion                                     as is_commenting_open,
        {{ telegram_post_url(
            'official_accounts.screen_name', 'telegram_messages.peer_id', 'telegram_messages.message_id'
        ) }}                                                                 as post_url
    from telegram_messages
    inner join official_accounts
        on official_accounts.account_key = 'telegram:' || telegram_messages.peer_id
    where telegram_messages.is_channel_post
        and telegram_messages.message_type = 'Message'
),

ok_account_posts as (
    select
        ok_topics.source_message_key                                         as post_key,
        official_accounts.account_key,
        'ok'                                                                 as platform,
        ok_topics.published_at,
        false                                                                as is_pinned,
        ok_topics.like_count,
        ok_topics.reshare_count                                              as repost_count,
        ok_topics.comment_count,
        null::integer                                                        as view_count,
        not ok_topics.is_commenting_denied                                   as is_commenting_open,
        {{ ok_topic_url('ok_topics.group_id', 'ok_topics.topic_id') }}   as post_url
    from ok_topics
    inner join official_accounts
        on official_accounts.account_key = 'ok:' || ok_topics.group_id
    where ok_topics.author_type = 'group'
),

account_posts as (
    select * from vk_account_posts
    union all
    select * from telegram_account_posts
    union all
    select * from ok_account_posts
),

earliest_versions as (
    select distinct on (account_key) account_key, follower_count
    from metadata_versions
    order by account_key, valid_from_at
),

with_followers as (
    select
        account_posts.*,
        coalesce(version_at_post.follower_count, earliest_versions.follower_count) as follower_count,
        coalesce(account_posts.like_count, 0)
            + coalesce(account_posts.repost_count, 0)
            + coalesce(account_posts.comment_count, 0)                       as interaction_count
    from account_posts
    left join metadata_versions as version_at_post
        on version_at_post.account_key = account_posts.account_key
        and version_at_post.valid_from_at <= account_posts.published_at
        and version_at_post.valid_to_at > account_posts.published_at
    left join earliest_versions
        on earliest_versions.account_key = account_posts.account_key
),

final as (
    select
        post_key,
        account_key,
        platform,
        published_at,
        (published_at at time zone {{ time_zone() }})::date                    as published_date,
        is_pinned,
        like_count,
        repost_count,
        comment_count,
        view_count,
        interaction_count,
        follower_count,
        round(interaction_count * 100.0 / nullif(follower_count, 0), 4)      as er_post_pct,
        round(interaction_count * 100.0 / nullif(view_count, 0), 4)          as er_view_pct,
        is_commenting_open,
        post_url
    from with_followers
)

select * from final
