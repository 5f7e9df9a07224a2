with

executive_bodies as (
    select * from {{ ref('executive_bodies') }}
),

categories as (
    select * from {{ ref('categories') }}
),

official_accounts as (
    select * from {{ ref('official_accounts') }}
),

default_categories as (
    select default_body_code as body_code, string_agg(code, ',' order by code) as default_category_codes
    from categories
    group by default_body_code
),

account_counts as (
    select body_code, count(*)::integer as official_account_count
    from official_accounts
    group by body_code
),

final as (
    select
        executive_bodies.code,
        executive_bodies.name_ru,
        executive_bodies.kind,
        executive_bodies.is_executive_body,
        executive_bodies.confidence,
        default_categories.default_category_codes,
        coalesce(account_counts.official_account_count, 0)     as official_account_count
    from executive_bodies
    left join default_categories
        on default_categories.body_code = executive_bodies.code
    left join account_counts
        on account_counts.body_code = executive_bodies.code
)

select * from final
