{{ config(materialized='table') }}

{#- One row per body × network × day: every body of executive_bodies (the administration and each
    executive body) in every network of var compliance_networks, whether it has an account there or not,
    on every day from the first day with data (the first metadata version or the registry's first
    version; var compliance_start_date overrides it) through the day of as_of_at (Moscow).
    A day is judged at its end (Moscow), or at as_of_at for the current day (judged_at):
    - the registry: snap_official_accounts' version valid then (the versions of the registry's first
      snapshot count as valid since ever: socmon knows no earlier registry);
    - the account: of several registered in the network, one that answers first, then by account_key;
    - its metadata: the snap_account_metadata version valid then, and the one valid 7 days earlier
      (audience growth). -#}

with

executive_bodies as (
    select * from {{ ref('executive_bodies') }}
),

registry_snapshot as (
    select * from {{ ref('snap_official_accounts') }}
),

metadata_versions as (
    select * from {{ ref('int_account_metadata_versions') }}
),

networks as (
    select platform
    from unnest(array[
        {%- for network in var('compliance_networks') %}'{{ network }}'{{ ', ' if not loop.last }}{% endfor -%}
    ]::text[]) as networks (platform)
),

bounds as (
    select
        {% if var('compliance_start_date', none) -%}
        '{{ var("compliance_start_date") }}'::date
        {%- else -%}
        (
            least(
                (select min(dbt_valid_from) from registry_snapshot),
                (select min(valid_from_at) from metadata_versions)
            ) at time zone {{ time_zone() }}
        )::date
        {%- endif %}                                                         as first_date,
        ({{ as_of_at() }} at time zone {{ time_zone() }})::date                as last_date
),

days as (
    select
        spine.day::date                                                      as compliance_date,
        least(
            (spine.day::date + 1)::timestamp at time zone {{ time_zone() }},
            {{ as_of_at() }}
        )                                                                    as judged_at
    from bounds
    cross join generate_series(bounds.first_date, bounds.last_date, interval '1 day') as spine (day)
),

registry_versions as (
    select
        *,
        case
            when dbt_valid_from = min(dbt_valid_from) over () then '-infinity'::timestamptz
            else dbt_valid_from
        end                                                                  as registered_from_at,
        coalesce(dbt_valid_to, 'infinity'::timestamptz)                      as registered_to_at
    from registry_snapshot
),

account_histories as (
    select
        account_key,
        min(valid_from_at)                                                   as first_metadata_at,
        min(created_at)                                                      as created_at
    from metadata_versions
    group by account_key
),

platform_reads as (
    select platform, min(valid_from_at) as first_read_at
    from metadata_versions
    group by platform
),

body_days as (
    select
        days.compliance_date,
        days.judged_at,
        executive_bodies.code                                                as body_code,
        executive_bodies.name_ru                                             as body_name_ru,
        case when executive_bodies.is_executive_body then 'executive_body' else 'administration' end
                                                                             as body_tier,
        networks.platform
    from days
    cross join executive_bodies
    cross join networks
),

registered_accounts as (
    select
        body_days.compliance_date,
        body_days.body_code,
        body_days.platform,
        registry_versions.account_key,
        registry_versions.tier,
        registry_versions.name_ru                                            as registry_name_ru,
        registry_versions.screen_name                                        as registry_screen_name,
        metadata_versions.metadata_version_id,
        metadata_versions.valid_from_at                                      as metadata_loaded_at,
        metadata_versions.account_name,
        metadata_versions.platform_screen_name,
        metadata_versions.deactivated_reason,
        metadata_versions.is_closed,
        metadata_versions.has_avatar,
        metadata_versions.has_cover,
        metadata_versions.has_activity_info,
        metadata_versions.has_phone,
        metadata_versions.has_address,
        metadata_versions.has_email,
        metadata_versions.has_website,
        metadata_versions.is_verified,
        metadata_versions.has_open_comments,
        metadata_versions.follower_count,
        week_ago_versions.follower_count                                     as follower_count_week_ago,
        account_histories.first_metadata_at,
        account_histories.created_at
    from body_days
    inner join registry_versions
        on registry_versions.body_code = body_days.body_code
        and registry_versions.platform = body_days.platform
        and registry_versions.registered_from_at <= body_days.judged_at
        and registry_versions.registered_to_at > body_days.judged_at
    left join metadata_versions
        on metadata_versions.account_key = registry_versions.account_key
        and metadata_versions.valid_from_at <= body_days.judged_at
        and metadata_versions.valid_to_at > body_days.judged_at
    left join metadata_versions as week_ago_versions
        on week_ago_versions.account_key = registry_versions.account_key
        and week_ago_versions.valid_from_at <= body_days.judged_at - interval '7 days'
        and week_ago_versions.valid_to_at > body_days.judged_at - interval '7 days'
    left join account_histories
        on account_histories.account_key = registry_versions.account_key
),

ranked_accounts as (
    select
        *,
        row_number() over (
            partition by compliance_date, body_code, platform
            order by
                (metadata_version_id is not null and deactivated_reason is null and not is_closed) desc,
                (metadata_version_id is not null) desc,
                account_key
        )                                                                    as account_rank,
        count(*) over (partition by compliance_date, body_code, platform)    as account_count
    from registered_accounts
),

final as (
    select
        body_days.compliance_date,
        body_days.judged_at,
        body_days.body_code,
        body_days.body_name_ru,
        body_days.platform,
        coalesce(ranked_accounts.tier, body_days.body_tier)                  as tier,
        ranked_accounts.account_key,
        coalesce(ranked_accounts.account_count, 0)::integer                  as account_count,
        ranked_accounts.registry_name_ru,
        ranked_accounts.registry_screen_name,
        coalesce(platform_reads.first_read_at <= body_days.judged_at, false) as is_platform_read,
        ranked_accounts.first_metadata_at,
        ranked_accounts.created_at,
        ranked_accounts.metadata_version_id is not null                     as has_metadata,
        ranked_accounts.metadata_version_id,
        ranked_accounts.metadata_loaded_at,
        ranked_accounts.account_name,
        ranked_accounts.platform_screen_name,
        ranked_accounts.deactivated_reason,
        ranked_accounts.is_closed,
        ranked_accounts.has_avatar,
        ranked_accounts.has_cover,
        ranked_accounts.has_activity_info,
        ranked_accounts.has_phone,
        ranked_accounts.has_address,
        ranked_accounts.has_email,
        ranked_accounts.has_website,
        ranked_accounts.is_verified,
        ranked_accounts.has_open_comments,
        ranked_accounts.follower_count,
        ranked_accounts.follower_count_week_ago
    from body_days
    left join ranked_accounts
        on ranked_accounts.compliance_date = body_days.compliance_date
        and ranked_accounts.body_code = body_days.body_code
        and ranked_accounts.platform = body_days.platform
        and ranked_accounts.account_rank = 1
    left join platform_reads
        on platform_reads.platform = body_days.platform
)

select * from final
