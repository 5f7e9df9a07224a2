{#- Official account compliance per body × network × ISO week (Monday to Sunday, Moscow dates), from
    mart_account_compliance_daily: each check's status on the week's last day in the mart (the state the
    week ended with) and how many days it failed; the scores at the end of the week and on average; and
    what changed since the previous week: checks failing now that did not fail at the end of the previous
    week (new failures), and checks that failed then and pass now (fixed). Without a previous week in the
    mart the change columns are null. -#}

{%- set check_columns = ['acc01', 'acc02', 'acc03', 'acc04', 'acc05', 'acc06', 'acc07', 'acc08', 'acc09', 'acc10'] -%}

with

daily as (
    select * from {{ ref('mart_account_compliance_daily') }}
),

dated as (
    select
        *,
        date_trunc('week', compliance_date)::date                                  as week_start_date,
        to_char(compliance_date, 'IYYY-"W"IW')                                     as iso_week
    from daily
),

week_stats as (
    select
        body_code,
        platform,
        week_start_date,
        count(*)::integer                                                           as day_count,
        {%- for column in check_columns %}
        (count(*) filter (where {{ column }}_status = 'failed'))::integer          as {{ column }}_failed_days,
        {%- endfor %}
        round(avg(account_score_pct), 1)                                            as account_score_avg_pct,
        round(avg(body_score_pct), 1)                                               as body_score_avg_pct
    from dated
    group by body_code, platform, week_start_date
),

week_ends as (
    select distinct on (body_code, platform, week_start_date)
        *,
        array_remove(array[
            {%- for column in check_columns %}
            case when {{ column }}_status = 'failed' then 'ACC-{{ column[3:] }}' end{{ ',' if not loop.last }}
            {%- endfor %}
        ], null)                                                                    as failed_codes,
        array_remove(array[
            {%- for column in check_columns %}
            case when {{ column }}_status = 'passed' then 'ACC-{{ column[3:] }}' end{{ ',' if not loop.last }}
            {%- endfor %}
        ], null)                                                                    as passed_codes
    from dated
    order by body_code, platform, week_start_date, compliance_date desc
),

compared as (
    select
        week_ends.*,
        lag(week_start_date) over weeks_of_account = week_start_date - 7            as has_previous_week,
        lag(failed_codes) over weeks_of_account                                     as previous_failed_codes
    from week_ends
    window weeks_of_account as (partition by body_code, platform order by week_start_date)
),

final as (
    select
        compared.iso_week,
        compared.week_start_date,
        compared.week_start_date + 6                                                as week_end_date,
        compared.body_code,
        compared.platform,
        compared.body_name_ru,
        compared.tier,
        compared.account_key,
        compared.account_name,
        compared.screen_name,
        week_stats.day_count,
        compared.compliance_date                                                    as last_compliance_date,
        compared.account_score_pct,
        week_stats.account_score_avg_pct,
        compared.body_score_pct,
        week_stats.body_score_avg_pct,
        compared.is_compliant,
        compared.failed_check_codes,
        coalesce(compared.has_previous_week, false)                                 as has_previous_week,
        case
            when compared.has_previous_week then nullif(array_to_string(compared.previous_failed_codes, ', '), '')
        end                                                                         as previous_failed_check_codes,
        case
            when compared.has_previous_week then nullif(array_to_string(array(
                select code from unnest(compared.failed_codes) as codes (code)
                where not code = any(compared.previous_failed_codes)
                order by code
            ), ', '), '')
        end                                                                         as new_failed_check_codes,
        case
            when compared.has_previous_week then nullif(array_to_string(array(
                select code from unnest(compared.previous_failed_codes) as codes (code)
                where code = any(compared.passed_codes)
                order by code
            ), ', '), '')
        end                                                                         as fixed_check_codes,
        {%- for column in check_columns %}
        compared.{{ column }}_status,
        week_stats.{{ column }}_failed_days,
        compared.{{ column }}_explanation_ru{{ ',' if not loop.last }}
        {%- endfor %}
    from compared
    inner join week_stats
        on week_stats.body_code = compared.body_code
        and week_stats.platform = compared.platform
        and week_stats.week_start_date = compared.week_start_date
)

select * from final
