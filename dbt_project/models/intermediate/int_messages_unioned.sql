{{
    config(
        materialized='incremental',
        unique_key='source_message_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['source_message_key']},
            {'columns': ['loaded_at']},
            {'columns': ['unioned_at']},
            {'columns': ['author_id', 'platform']},
            {'columns': ['account_key']},
            {'columns': ['community_key', 'is_monitored_community', 'community_municipality_code']},
            {'columns': ['thread_root_key']},
        ],
        post_hook=["{{ write_table_note({'context_digest': message_context_digest()}) }}"],
    )
}}

{#- Every message of every network as one row, with its context: the registry (official authors, monitored
    communities and their municipalities) and its thread's root. An incremental run re-reads only the
    objects with a new raw version since the watermark (changed_staging_rows), whatever the size of the
    history, and the messages whose context changed since they were written: an author or a community
    the registry now describes otherwise, a Telegram reply whose thread root arrived, an OK comment whose
    topic (and so its group) arrived. The registry's arms compare every stored message, so they run only
    when the registry or int_community_places changed since the last run (message_context_digest, kept in
    the table's note). Each row written carries unioned_at, the watermark of the classification. -#}

{%- set context_is_new = is_incremental() and message_context_digest() != table_note().get('context_digest') %}

with

official_accounts as (
    select * from {{ ref('official_accounts') }}
),

monitored_communities as (
    select * from {{ ref('monitored_communities') }}
),

community_places as (
    select * from {{ ref('int_community_places') }}
),

{% if is_incremental() %}
-- messages written under a context that has changed since
context_changed as (
    {%- if context_is_new %}
    -- an author the registry now names an official account (of another body), or no longer does
    select this.source_message_key, this.platform, this.message_kind, this.community_key
    from {{ this }} as this
    inner join official_accounts
        on this.author_id = official_accounts.account_id::text
        and this.platform = official_accounts.platform
    where this.account_key is distinct from official_accounts.account_key
        or this.account_body_code is distinct from official_accounts.body_code
    union
    select this.source_message_key, this.platform, this.message_kind, this.community_key
    from {{ this }} as this
    left join official_accounts
        on official_accounts.account_key = this.account_key
        and official_accounts.body_code = this.account_body_code
    where this.account_key is not null
        and official_accounts.account_key is null
    union
    -- a community registered, or given another municipality
    select this.source_message_key, this.platform, this.message_kind, this.community_key
    from monitored_communities
    inner join {{ this }} as this
        on this.community_key = monitored_communities.source_id
    where not this.is_monitored_community
        or this.community_municipality_code is distinct from monitored_communities.municipality_code
    union
    -- a community outside the registry whose city or description now names another municipality, or none
    select this.source_message_key, this.platform, this.message_kind, this.community_key
    from community_places
    inner join {{ this }} as this
        on this.community_key = community_places.community_key
    where not this.is_monitored_community
        and this.community_municipality_code is distinct from community_places.municipality_code
    union
    select this.source_message_key, this.platform, this.message_kind, this.community_key
    from {{ this }} as this
    where not this.is_monitored_community
        and this.community_municipality_code is not null
        and this.community_key not in (select community_key from community_places)
    union
    {%- endif %}
    -- replies whose thread root (a Telegram discussion's copy of the post, an OK topic) arrived since
    select this.source_message_key, this.platform, this.message_kind, this.community_key
    from {{ this }} as this
    where this.message_kind = 'comment'
        and this.thread_root_key in (
            select {{ telegram_message_key('peer_id', 'message_id') }}
            from {{ source('raw', 'telegram_messages') }}
            where loaded_at > {{ incremental_since('loaded_at') }}
            union all
            select {{ ok_topic_key('topic_id') }}
            from {{ source('raw', 'ok_topics') }}
            where loaded_at > {{ incremental_since('loaded_at') }}
        )
),
{% endif %}

vk_posts as (
    {{ changed_staging_rows(ref('stg_vk__posts'), 'vk_posts', ['owner_id', 'post_id'],
        also="select " ~ message_key_ids('source_message_key', 'vk_post')
            ~ " from context_changed where platform = 'vk' and message_kind = 'post'") }}
),

vk_comments as (
    {{ changed_staging_rows(ref('stg_vk__comments'), 'vk_comments', ['owner_id', 'comment_id'],
        also="select " ~ message_key_ids('source_message_key', 'vk_comment')
            ~ " from context_changed where platform = 'vk' and message_kind = 'comment'") }}
),

telegram_messages as (
    {{ changed_staging_rows(ref('stg_telegram__messages'), 'telegram_messages', ['peer_id', 'message_id'],
        also="select " ~ message_key_ids('source_message_key', 'telegram_message')
            ~ " from context_changed where platform = 'telegram'") }}
),

ok_topics as (
    {{ changed_staging_rows(ref('stg_ok__topics'), 'ok_topics', ['group_id', 'topic_id'],
        also="select substr(community_key, 4)::bigint as group_id, "
            ~ message_key_ids('source_message_key', 'ok_topic')
            ~ " from context_changed where platform = 'ok' and message_kind = 'post'") }}
),

ok_comments as (
    {{ changed_staging_rows(ref('stg_ok__comments'), 'ok_comments', ['topic_id', 'comment_id'],
        also="select " ~ message_key_ids('source_message_key', 'ok_comment')
            ~ " from context_changed where platform = 'ok' and message_kind = 'comment'") }}
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
        {{ vk_post_url('owner_id', 'post_id') }}     as message_url,
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
                then {{ vk_comment_key('owner_id', 'post_id', 'reply_to_comment_id') }}
            when thread_comment_id is not null
                then {{ vk_comment_key('owner_id', 'post_id', 'thread_comment_id') }}
            else post_message_key
        end                                                     as parent_message_key,
        {{ vk_comment_key('owner_id', 'post_id', 'coalesce(thread_comment_id, comment_id)') }}
                                                                as reply_thread_key,
        published_at,
        detected_at,
        loaded_at,
        message_text,
        {{ vk_comment_url('owner_id', 'post_id', 'comment_id') }}
                                                                as message_url,
        false                                                   as is_marked_as_ads,
        is_deleted
    from vk_comments
),

-- Telegram: a channel's posts, and the replies in its linked discussion group. The group's copy of a
-- post (forwarded with saved_from_msg_id) roots the post's thread there: it maps the thread to the post
-- and is no message of its own.

telegram_usernames as (
    select community_id::bigint as channel_id, screen_name
    from monitored_communities
    where platform = 'telegram'
    union
    select account_id::bigint as channel_id, screen_name
    from official_accounts
    where platform = 'telegram'
),

telegram_post_messages as (
    select
        telegram_messages.source_message_key,
        'telegram'                                                          as platform,
        'post'                                                              as message_kind,
        coalesce(telegram_messages.sender_id, telegram_messages.peer_id)::text as author_id,
        case when telegram_messages.sender_peer_type = 'PeerUser' then 'user' else 'community' end
                                                                            as author_kind,
        'telegram:' || telegram_messages.peer_id                            as community_key,
        telegram_messages.source_message_key                                as thread_root_key,
        null::text                                                          as parent_message_key,
        null::text                                                          as reply_thread_key,
        telegram_messages.published_at,
        telegram_messages.detected_at,
        telegram_messages.loaded_at,
        telegram_messages.message_text,
        {{ telegram_post_url(
            'telegram_usernames.screen_name', 'telegram_messages.peer_id', 'telegram_messages.message_id'
        ) }}                                                                as message_url,
        false                                                               as is_marked_as_ads,
        false                                                               as is_deleted
    from telegram_messages
    left join telegram_usernames
        on telegram_usernames.channel_id = telegram_messages.peer_id
    where telegram_messages.message_type = 'Message'
        and telegram_messages.is_channel_post
),

telegram_replies as (
    select
        telegram_messages.*,
        coalesce(telegram_messages.reply_to_top_message_id, telegram_messages.reply_to_message_id)
                                                                            as root_message_id
    from telegram_messages
    where telegram_messages.message_type = 'Message'
        and telegram_messages.reply_to_message_id is not null
        and not telegram_messages.is_channel_post
),

-- the roots of the replies' threads, looked up by key: the group's copies of the channel posts
telegram_thread_roots as (
    select
        roots.peer_id                                                       as discussion_peer_id,
        roots.message_id                                                    as root_message_id,
        roots.forwarded_from_peer_id                                        as channel_id,
        {{ telegram_message_key('roots.forwarded_from_peer_id', 'roots.forwarded_from_message_id') }}
                                                                            as post_message_key,
        roots.forwarded_from_message_id                                     as post_id
    from (select distinct peer_id, root_message_id from telegram_replies) as wanted
    cross join lateral (
        select *
        from {{ ref('stg_telegram__messages') }} as stored
        where stored.peer_id = wanted.peer_id
            and stored.message_id = wanted.root_message_id
        offset 0  -- the key filter goes down into the view
    ) as roots
    where roots.forwarded_from_message_id is not null
),

telegram_reply_messages as (
    select
        telegram_replies.source_message_key,
        'telegram'                                                          as platform,
        'comment'                                                           as message_kind,
        coalesce(telegram_replies.sender_id, telegram_replies.peer_id)::text as author_id,
        case when telegram_replies.sender_peer_type = 'PeerUser' then 'user' else 'community' end
                                                                            as author_kind,
        'telegram:' || coalesce(telegram_thread_roots.channel_id, telegram_replies.peer_id)
                                                                            as community_key,
        coalesce(
            telegram_thread_roots.post_message_key,
            {{ telegram_message_key('telegram_replies.peer_id', 'telegram_replies.root_message_id') }}
        )                                                                   as thread_root_key,
        case
            when telegram_replies.reply_to_message_id = telegram_replies.root_message_id
                then coalesce(
                    telegram_thread_roots.post_message_key,
                    {{ telegram_message_key('telegram_replies.peer_id', 'telegram_replies.root_message_id') }}
                )
            else {{ telegram_message_key('telegram_replies.peer_id', 'telegram_replies.reply_to_message_id') }}
        end                                                                 as parent_message_key,
        -- the discussion is flat: a reply to the post opens a thread, a reply to a reply joins that one
        case
            when telegram_replies.reply_to_message_id = telegram_replies.root_message_id
                then telegram_replies.source_message_key
            else {{ telegram_message_key('telegram_replies.peer_id', 'telegram_replies.reply_to_message_id') }}
        end                                                                 as reply_thread_key,
        telegram_replies.published_at,
        telegram_replies.detected_at,
        telegram_replies.loaded_at,
        telegram_replies.message_text,
        {{ telegram_reply_url(
            'telegram_usernames.screen_name', 'telegram_thread_roots.post_id',
            'telegram_replies.peer_id', 'telegram_replies.message_id'
        ) }}                                                                as message_url,
        false                                                               as is_marked_as_ads,
        false                                                               as is_deleted
    from telegram_replies
    left join telegram_thread_roots
        on telegram_thread_roots.discussion_peer_id = telegram_replies.peer_id
        and telegram_thread_roots.root_message_id = telegram_replies.root_message_id
    left join telegram_usernames
        on telegram_usernames.channel_id = telegram_thread_roots.channel_id
),

-- OK: topics of a group, and the comments on each topic

ok_topic_messages as (
    select
        source_message_key,
        'ok'                                                                as platform,
        'post'                                                              as message_kind,
        coalesce(author_id, group_id)::text                                 as author_id,
        case when author_type = 'group' then 'community' else 'user' end    as author_kind,
        'ok:' || group_id                                                   as community_key,
        source_message_key                                                  as thread_root_key,
        null::text                                                          as parent_message_key,
        null::text                                                          as reply_thread_key,
        published_at,
        detected_at,
        loaded_at,
        message_text,
        {{ ok_topic_url('group_id', 'topic_id') }}                          as message_url,
        is_marked_as_ads,
        false                                                               as is_deleted
    from ok_topics
),

-- the group of each comment: the registered source that read it (`ok:<group id>`); for comments loaded
-- otherwise (files), the topic's group
ok_comment_topics as (
    select wanted.topic_id, coalesce(wanted.source_group_id, topics.group_id) as group_id
    from (
        select distinct
            topic_id,
            case when source_id ~ '^ok:[0-9]+$' then substr(source_id, 4)::bigint end as source_group_id
        from ok_comments
    ) as wanted
    left join lateral (
        select stored.group_id
        from {{ ref('stg_ok__topics') }} as stored
        where wanted.source_group_id is null
            and stored.topic_id = wanted.topic_id
        limit 1
    ) as topics on true
),

ok_comment_messages as (
    select
        ok_comments.source_message_key,
        'ok'                                                                as platform,
        'comment'                                                           as message_kind,
        ok_comments.author_id::text                                         as author_id,
        case when ok_comments.author_type = 'group' then 'community' else 'user' end
                                                                            as author_kind,
        'ok:' || ok_topics.group_id                                         as community_key,
        ok_comments.topic_message_key                                       as thread_root_key,
        case
            when ok_comments.reply_to_comment_id is not null
                then {{ ok_comment_key('ok_comments.topic_id', 'ok_comments.reply_to_comment_id') }}
            else ok_comments.topic_message_key
        end                                                                 as parent_message_key,
        case
            when ok_comments.reply_to_comment_id is not null
                then {{ ok_comment_key('ok_comments.topic_id', 'ok_comments.reply_to_comment_id') }}
            else ok_comments.source_message_key
        end                                                                 as reply_thread_key,
        ok_comments.published_at,
        ok_comments.detected_at,
        ok_comments.loaded_at,
        ok_comments.message_text,
        {{ ok_topic_url('ok_topics.group_id', 'ok_comments.topic_id') }}    as message_url,
        false                                                               as is_marked_as_ads,
        false                                                               as is_deleted
    from ok_comments
    left join ok_comment_topics as ok_topics
        on ok_topics.topic_id = ok_comments.topic_id
),

unioned as (
    select * from vk_post_messages
    union all
    select * from vk_comment_messages
    union all
    select * from telegram_post_messages
    union all
    select * from telegram_reply_messages
    union all
    select * from ok_topic_messages
    union all
    select * from ok_comment_messages
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
        -- the registry's; outside it, the community's own city or description (int_community_places)
        coalesce(monitored_communities.municipality_code, community_places.municipality_code)
                                                                as community_municipality_code,
        unioned.thread_root_key,
        unioned.parent_message_key,
        unioned.reply_thread_key,
        unioned.published_at,
        unioned.detected_at,
        unioned.loaded_at,
        unioned.message_text,
        unioned.message_url,
        unioned.is_marked_as_ads,
        unioned.is_deleted,
        {{ run_started_at_sql() }}                              as unioned_at
    from unioned
    left join official_accounts
        on official_accounts.account_key = unioned.platform || ':' || unioned.author_id
    left join monitored_communities
        on monitored_communities.source_id = unioned.community_key
    left join community_places
        on community_places.community_key = unioned.community_key
)

select * from final
