{#- The official accounts' own posts with their engagement per post (ACC-10): ERpost and ERview, null
    when the account has no followers or the post no views. -#}

with

account_posts as (
    select * from {{ ref('int_account_posts_measured') }}
),

official_accounts as (
    select * from {{ ref('official_accounts') }}
),

final as (
    select
        account_posts.post_key,
        account_posts.account_key,
        official_accounts.body_code,
        account_posts.platform,
        account_posts.published_at,
        account_posts.published_date,
        account_posts.is_pinned,
        account_posts.like_count,
        account_posts.repost_count,
        account_posts.comment_count,
        account_posts.view_count,
        account_posts.interaction_count,
        account_posts.follower_count,
        account_posts.er_post_pct,
        account_posts.er_view_pct,
        account_posts.is_commenting_open,
        account_posts.post_url
    from account_posts
    inner join official_accounts
        on official_accounts.account_key = account_posts.account_key
)

select * from final
