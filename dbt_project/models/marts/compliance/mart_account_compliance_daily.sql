{#- Official account compliance: one row per body × network × day (int_account_checks_evaluated), with
    scores. A check that does not apply to the network (not_applicable_check_codes) is left out; a check
    that could not be evaluated counts as not passed:
    account_score_pct = 100 × passed / applicable checks of the body's account in the network;
    body_score_pct = 100 × passed / applicable checks over the body's networks that day. -#}

{%- set check_columns = ['acc01', 'acc02', 'acc03', 'acc04', 'acc05', 'acc06', 'acc07', 'acc08', 'acc09', 'acc10'] -%}

with

checks as (
    select * from {{ ref('int_account_checks_evaluated') }}
),

listed as (
    select
        *,
        coalesce(string_to_array(nullif(not_applicable_check_codes, ''), ', '), '{}'::text[]) as not_applicable_codes
    from checks
),

counted as (
    select
        *,
        {%- for column in check_columns %}
        ({{ column }}_status = 'passed')::integer{{ ' +' if not loop.last }}
        {%- endfor %}                                                               as passed_check_count,
        {%- for column in check_columns %}
        ({{ column }}_status = 'failed')::integer{{ ' +' if not loop.last }}
        {%- endfor %}                                                               as failed_check_count,
        {{ check_columns | length }} - cardinality(not_applicable_codes)           as applicable_check_count,
        array_remove(array[
            {%- for column in check_columns %}
            case when {{ column }}_status = 'failed' then 'ACC-{{ column[3:] }}' end{{ ',' if not loop.last }}
            {%- endfor %}
        ], null)                                                                    as failed_codes,
        array_remove(array[
            {%- for column in check_columns %}
            case
                when {{ column }}_status = 'not_evaluated' and not 'ACC-{{ column[3:] }}' = any(not_applicable_codes)
                    then 'ACC-{{ column[3:] }}'
            end{{ ',' if not loop.last }}
            {%- endfor %}
        ], null)                                                                    as not_evaluated_codes
    from listed
),

body_totals as (
    select
        compliance_date,
        body_code,
        sum(passed_check_count)                                                     as body_passed_check_count,
        sum(applicable_check_count)                                                 as body_applicable_check_count
    from counted
    group by compliance_date, body_code
),

final as (
    select
        counted.compliance_date,
        counted.body_code,
        counted.platform,
        counted.body_name_ru,
        counted.tier,
        counted.account_key,
        counted.account_count,
        counted.account_name,
        counted.screen_name,
        round(100.0 * counted.passed_check_count / nullif(counted.applicable_check_count, 0), 1)
                                                                                    as account_score_pct,
        round(100.0 * body_totals.body_passed_check_count / nullif(body_totals.body_applicable_check_count, 0), 1)
                                                                                    as body_score_pct,
        counted.passed_check_count = counted.applicable_check_count                 as is_compliant,
        counted.passed_check_count,
        counted.failed_check_count,
        counted.applicable_check_count - counted.passed_check_count - counted.failed_check_count
                                                                                    as not_evaluated_check_count,
        counted.applicable_check_count,
        nullif(array_to_string(counted.failed_codes, ', '), '')                     as failed_check_codes,
        nullif(array_to_string(counted.not_evaluated_codes, ', '), '')              as not_evaluated_check_codes,
        nullif(counted.not_applicable_check_codes, '')                              as not_applicable_check_codes,
        {%- for column in check_columns %}
        counted.{{ column }}_status,
        counted.{{ column }}_is_passed,
        counted.{{ column }}_value,
        counted.{{ column }}_threshold,
        counted.{{ column }}_explanation_ru,
        {%- endfor %}
        counted.has_activity_info,
        counted.has_phone,
        counted.has_address,
        counted.has_email,
        counted.has_website,
        counted.posts_7d,
        counted.last_post_date,
        counted.questions_due_7d,
        counted.questions_on_time_7d,
        counted.follower_count,
        counted.follower_count_week_ago,
        counted.er_post_median_7d_pct,
        counted.er_view_median_7d_pct,
        counted.audience_growth_wow_pct,
        counted.has_metadata,
        counted.metadata_loaded_at,
        counted.judged_at
    from counted
    inner join body_totals
        on body_totals.compliance_date = counted.compliance_date
        and body_totals.body_code = counted.body_code
)

select * from final
