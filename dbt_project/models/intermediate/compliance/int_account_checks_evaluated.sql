{{ config(materialized='table') }}

{#- The ten checks of every body × network × day (int_account_days_spined), side by side. For each:
    status (passed, failed or not_evaluated: the data to judge is missing, or the check does not apply
    to the network), the measured value, the threshold, and an explanation in Russian rendered from the
    templates of seeds/rules/compliance_checks.csv ({value}, {threshold}, {detail}). The Russian texts
    live in macros/compliance_explanations_ru.sql; this model holds the checks' logic. When the account is
    missing or unavailable (ACC-01 not passed), the other checks are not evaluated.
    Windows: the 7 days ending on the day (Moscow dates d-6..d), judged at the day's end (or as_of_at). -#}

{%- set check_codes = ['ACC-01', 'ACC-02', 'ACC-03', 'ACC-04', 'ACC-05', 'ACC-06', 'ACC-07', 'ACC-08', 'ACC-09', 'ACC-10'] -%}

with

account_days as (
    select * from {{ ref('int_account_days_spined') }}
),

account_posts as (
    select * from {{ ref('int_account_posts_measured') }}
),

questions as (
    select * from {{ ref('int_account_questions_evaluated') }}
),

compliance_checks as (
    select * from {{ ref('compliance_checks') }}
),

-- the account's own posts of the 7 days ending on the day (ACC-07, ACC-10)
post_windows as (
    select
        account_days.compliance_date,
        account_days.account_key,
        count(*)                                                                    as posts_7d,
        percentile_cont(0.5) within group (order by account_posts.er_post_pct)      as er_post_median,
        percentile_cont(0.5) within group (order by account_posts.er_view_pct)      as er_view_median
    from account_days
    inner join account_posts
        on account_posts.account_key = account_days.account_key
        and account_posts.published_date between account_days.compliance_date - 6 and account_days.compliance_date
        and account_posts.published_at <= account_days.judged_at
    group by account_days.compliance_date, account_days.account_key
),

-- the latest post on or before each day (ACC-08): the days and the posting days on one timeline
post_days as (
    select account_key, published_date
    from account_posts
    group by account_key, published_date
),

post_timeline as (
    select account_key, compliance_date as on_date, 1 as event_order, null::date as post_date
    from account_days
    where account_key is not null
    union all
    select account_key, published_date as on_date, 0 as event_order, published_date as post_date
    from post_days
),

last_posts as (
    select account_key, compliance_date, last_post_date
    from (
        select
            account_key,
            on_date                                                                 as compliance_date,
            event_order,
            max(post_date) over (
                partition by account_key order by on_date, event_order rows unbounded preceding
            )                                                                       as last_post_date
        from post_timeline
    ) as timeline
    where event_order = 1
),

-- where the metadata cannot say whether comments are open (OK), the latest own post says it (ACC-06)
latest_comment_settings as (
    select distinct on (account_days.account_key, account_days.compliance_date)
        account_days.account_key,
        account_days.compliance_date,
        account_posts.is_commenting_open,
        account_posts.published_date                                                as setting_post_date
    from account_days
    inner join account_posts
        on account_posts.account_key = account_days.account_key
        and account_posts.published_at <= account_days.judged_at
        and account_posts.is_commenting_open is not null
    where account_days.has_open_comments is null
    order by account_days.account_key, account_days.compliance_date, account_posts.published_at desc
),

-- citizens' questions under the account's own posts whose deadline fell in the 7 days (ACC-09)
question_windows as (
    select
        account_days.account_key,
        account_days.compliance_date,
        count(*)                                                                    as questions_due_7d,
        count(*) filter (where questions.is_answered_on_time)                      as questions_on_time_7d
    from account_days
    inner join questions
        on questions.account_key = account_days.account_key
        and questions.deadline_at > account_days.judged_at - interval '7 days'
        and questions.deadline_at <= account_days.judged_at
    group by account_days.account_key, account_days.compliance_date
),

measured as (
    select
        account_days.*,
        {{ compliance_network_name_ru('account_days.platform') }}                   as network_name_ru,
        (account_days.created_at at time zone {{ time_zone() }})::date              as created_date,
        (account_days.first_metadata_at at time zone {{ time_zone() }})::date       as first_metadata_date,
        case
            when account_days.account_key is null then 'no_account'
            when account_days.created_at > account_days.judged_at then 'not_created'
            when not account_days.has_metadata and account_days.is_platform_read then 'not_answering'
            when not account_days.has_metadata then 'not_read'
            when account_days.deactivated_reason is not null then 'deactivated'
            when account_days.is_closed then 'closed'
            else 'available'
        end                                                                         as availability,
        similarity(
            {{ compliance_name_key('account_days.account_name') }},
            {{ compliance_name_key('account_days.body_name_ru') }}
        )                                                                           as name_similarity,
        {{ compliance_in_list('account_days.platform', var('compliance_cover_networks')) }}
                                                                                    as is_cover_required,
        {{ compliance_in_list('account_days.platform', var('compliance_verification_networks')) }}
                                                                                    as is_verification_applicable,
        {{ compliance_in_list('account_days.platform', var('compliance_open_comments_networks')) }}
                                                                                    as is_open_comments_applicable,
        coalesce(account_days.has_open_comments, latest_comment_settings.is_commenting_open)
                                                                                    as are_comments_open,
        latest_comment_settings.setting_post_date,
        case
            when account_days.tier = 'administration' then {{ var('compliance_min_posts_7d_administration') }}
            else {{ var('compliance_min_posts_7d_executive_body') }}
        end                                                                         as min_posts_7d,
        coalesce(post_windows.posts_7d, 0)::integer                                 as posts_7d,
        round(post_windows.er_post_median::numeric, 4)                              as er_post_median_7d_pct,
        round(post_windows.er_view_median::numeric, 4)                              as er_view_median_7d_pct,
        case
            when account_days.follower_count_week_ago > 0
                then round(
                    100.0 * (account_days.follower_count - account_days.follower_count_week_ago)
                        / account_days.follower_count_week_ago,
                    2
                )
        end                                                                         as audience_growth_wow_pct,
        last_posts.last_post_date,
        coalesce(question_windows.questions_due_7d, 0)::integer                     as questions_due_7d,
        coalesce(question_windows.questions_on_time_7d, 0)::integer                 as questions_on_time_7d
    from account_days
    left join post_windows
        on post_windows.account_key = account_days.account_key
        and post_windows.compliance_date = account_days.compliance_date
    left join last_posts
        on last_posts.account_key = account_days.account_key
        and last_posts.compliance_date = account_days.compliance_date
    left join latest_comment_settings
        on latest_comment_settings.account_key = account_days.account_key
        and latest_comment_settings.compliance_date = account_days.compliance_date
    left join question_windows
        on question_windows.account_key = account_days.account_key
        and question_windows.compliance_date = account_days.compliance_date
),

prepared as (
    select
        *,
        availability = 'available'                                                  as is_available,
        {{ compliance_unavailable_detail_ru() }}                                    as unavailable_detail,
        -- ACC-08 counts from the last post, or from the account's creation when it has posted nothing
        -- since; with no post at all, from the first metadata reading once that is longer ago than allowed
        case
            when coalesce(last_post_date, created_date) is not null
                then compliance_date - greatest(last_post_date, created_date)
            when compliance_date - first_metadata_date > {{ var('compliance_max_days_without_post') }}
                then compliance_date - first_metadata_date
        end                                                                         as days_without_post,
        case when questions_due_7d > 0 then round(100.0 * questions_on_time_7d / questions_due_7d, 1) end
                                                                                    as questions_on_time_pct,
        er_post_median_7d_pct >= {{ var('compliance_min_er_post_pct') }}            as is_er_post_met,
        er_view_median_7d_pct >= {{ var('compliance_min_er_view_pct') }}            as is_er_view_met,
        audience_growth_wow_pct >= {{ var('compliance_min_audience_growth_pct') }}  as is_audience_growth_met
    from measured
),

checks as (
    select
        prepared.*,

        -- ACC-01: the account exists and answers
        case availability
            when 'available' then 'passed'
            when 'not_read' then 'not_evaluated'
            else 'failed'
        end                                                                         as acc01_status,
        case when availability <> 'not_read' then (availability = 'available')::integer end
                                                                                    as acc01_value,
        1                                                                           as acc01_threshold,
        {{ compliance_acc01_detail_ru() }}                                          as acc01_detail,

        -- ACC-02: the name matches the body's official name
        case
            when not is_available or account_name is null then 'not_evaluated'
            when name_similarity >= {{ var('compliance_name_min_similarity') }} then 'passed'
            else 'failed'
        end                                                                         as acc02_status,
        round(name_similarity::numeric, 2)                                          as acc02_value,
        {{ var('compliance_name_min_similarity') }}                                 as acc02_threshold,
        {{ compliance_acc02_detail_ru() }}                                          as acc02_detail,

        -- ACC-03: avatar, and a cover where the network has covers
        case
            when not is_available then 'not_evaluated'
            when has_avatar is null or (is_cover_required and has_cover is null) then 'not_evaluated'
            when has_avatar and (not is_cover_required or has_cover) then 'passed'
            else 'failed'
        end                                                                         as acc03_status,
        has_avatar::integer + case when is_cover_required then has_cover::integer else 0 end
                                                                                    as acc03_value,
        1 + is_cover_required::integer                                              as acc03_threshold,
        {{ compliance_acc03_detail_ru() }}                                          as acc03_detail,

        -- ACC-04: activity, phone, address, e-mail and website, each on its own
        case
            when not is_available then 'not_evaluated'
            when has_activity_info and has_phone and has_address and has_email and has_website then 'passed'
            else 'failed'
        end                                                                         as acc04_status,
        has_activity_info::integer + has_phone::integer + has_address::integer + has_email::integer
            + has_website::integer                                                  as acc04_value,
        5                                                                           as acc04_threshold,
        {{ compliance_acc04_detail_ru() }}                                          as acc04_detail,

        -- ACC-05: the verification mark, where the network has one
        case
            when not is_verification_applicable or not is_available or is_verified is null then 'not_evaluated'
            when is_verified then 'passed'
            else 'failed'
        end                                                                         as acc05_status,
        is_verified::integer                                                        as acc05_value,
        1                                                                           as acc05_threshold,
        {{ compliance_acc05_detail_ru() }}                                          as acc05_detail,

        -- ACC-06: comments open (VK: the wall; OK: the latest own topic)
        case
            when not is_open_comments_applicable or not is_available or are_comments_open is null then 'not_evaluated'
            when are_comments_open then 'passed'
            else 'failed'
        end                                                                         as acc06_status,
        are_comments_open::integer                                                  as acc06_value,
        1                                                                           as acc06_threshold,
        {{ compliance_acc06_detail_ru() }}                                          as acc06_detail,

        -- ACC-07: posts in the 7 days ending on the day, at least the tier's minimum
        case
            when not is_available then 'not_evaluated'
            when posts_7d >= min_posts_7d then 'passed'
            when created_date > compliance_date - 6 then 'not_evaluated'
            else 'failed'
        end                                                                         as acc07_status,
        posts_7d                                                                    as acc07_value,
        min_posts_7d                                                                as acc07_threshold,
        {{ compliance_acc07_detail_ru() }}                                          as acc07_detail,

        -- ACC-08: no more than var compliance_max_days_without_post days since the last post
        case
            when not is_available or days_without_post is null then 'not_evaluated'
            when days_without_post <= {{ var('compliance_max_days_without_post') }} then 'passed'
            else 'failed'
        end                                                                         as acc08_status,
        days_without_post                                                           as acc08_value,
        {{ var('compliance_max_days_without_post') }}                               as acc08_threshold,
        {{ compliance_acc08_detail_ru() }}                                          as acc08_detail,

        -- ACC-09: citizens' questions under the account's own posts answered within the incident deadline
        case
            when not is_available then 'not_evaluated'
            when questions_due_7d = 0 then 'passed'
            when questions_on_time_pct >= {{ var('compliance_min_questions_on_time_pct') }} then 'passed'
            else 'failed'
        end                                                                         as acc09_status,
        questions_on_time_pct                                                       as acc09_value,
        {{ var('compliance_min_questions_on_time_pct') }}                           as acc09_threshold,
        {{ compliance_acc09_detail_ru() }}                                          as acc09_detail,

        -- ACC-10: engagement (7-day medians of ERpost and ERview) and audience growth week on week
        case
            when not is_available then 'not_evaluated'
            when is_er_post_met is null and is_er_view_met is null and is_audience_growth_met is null then 'not_evaluated'
            when not coalesce(is_er_post_met, true) or not coalesce(is_er_view_met, true)
                or not coalesce(is_audience_growth_met, true) then 'failed'
            else 'passed'
        end                                                                         as acc10_status,
        er_post_median_7d_pct                                                       as acc10_value,
        {{ var('compliance_min_er_post_pct') }}                                     as acc10_threshold,
        {{ compliance_acc10_detail_ru() }}                                          as acc10_detail
    from prepared
),

templates as (
    select
        {%- for code in check_codes %}
        {%- set column = code | lower | replace('-', '') %}
        max(passed_template_ru) filter (where code = '{{ code }}')                  as {{ column }}_passed_template,
        max(failed_template_ru) filter (where code = '{{ code }}')                  as {{ column }}_failed_template,
        max(not_evaluated_template_ru) filter (where code = '{{ code }}')           as {{ column }}_not_evaluated_template
        {{- ',' if not loop.last }}
        {%- endfor %}
    from compliance_checks
),

final as (
    select
        checks.compliance_date,
        checks.body_code,
        checks.platform,
        checks.body_name_ru,
        checks.tier,
        checks.account_key,
        checks.account_count,
        checks.account_name,
        coalesce(checks.platform_screen_name, checks.registry_screen_name)          as screen_name,
        checks.has_metadata,
        checks.metadata_loaded_at,
        checks.judged_at,
        {%- for code in check_codes %}
        {%- set column = code | lower | replace('-', '') %}
        checks.{{ column }}_status,
        checks.{{ column }}_status = 'passed'                                       as {{ column }}_is_passed,
        checks.{{ column }}_value::numeric                                          as {{ column }}_value,
        checks.{{ column }}_threshold::numeric                                      as {{ column }}_threshold,
        {{ compliance_explanation_ru(column) }}                                     as {{ column }}_explanation_ru,
        {%- endfor %}
        checks.has_activity_info,
        checks.has_phone,
        checks.has_address,
        checks.has_email,
        checks.has_website,
        checks.posts_7d,
        checks.last_post_date,
        checks.questions_due_7d,
        checks.questions_on_time_7d,
        checks.follower_count,
        checks.follower_count_week_ago,
        checks.er_post_median_7d_pct,
        checks.er_view_median_7d_pct,
        checks.audience_growth_wow_pct,
        concat_ws(', ',
            case when not checks.is_verification_applicable then 'ACC-05' end,
            case when not checks.is_open_comments_applicable then 'ACC-06' end
        )                                                                           as not_applicable_check_codes
    from checks
    cross join templates
)

select * from final
