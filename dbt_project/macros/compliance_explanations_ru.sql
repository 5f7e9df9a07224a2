{#- The Russian texts of the account compliance checks (int_account_checks_evaluated), apart from the
    checks' logic: each `accNN_detail` is the fact a check's template (seed rules/compliance_checks:
    passed/failed/not_evaluated_template_ru) puts in place of {detail}. Each macro is an expression over
    the columns of the model's `prepared` CTE. -#}

{#- The network's name in Russian texts. -#}
{% macro compliance_network_name_ru(platform) -%}
case {{ platform }}
    when 'vk' then 'ВКонтакте'
    when 'ok' then 'Одноклассники'
    when 'telegram' then 'Telegram'
    else {{ platform }}
end
{%- endmacro %}

{#- Why a check could not look at the account. -#}
{% macro compliance_unavailable_detail_ru() -%}
case availability
    when 'no_account' then 'у органа нет аккаунта в сети ' || network_name_ru
    when 'not_read' then 'данные сети ' || network_name_ru || ' ещё не считывались'
    else 'аккаунт недоступен (см. ACC-01)'
end
{%- endmacro %}

{% macro compliance_acc01_detail_ru() -%}
case availability
    when 'available' then '«' || account_name || '»'
    when 'no_account' then 'В реестре нет аккаунта органа в сети ' || network_name_ru || '.'
    when 'not_created' then 'Аккаунт создан ' || {{ compliance_ru_date('created_date') }} || ': в этот день его ещё не было.'
    when 'not_answering' then 'Данные аккаунта ' || account_key || ' не получены: он не найден или не отвечает.'
    when 'not_read' then 'данные сети ' || network_name_ru || ' ещё не считывались'
    when 'deactivated' then 'Аккаунт ' || case deactivated_reason
            when 'deleted' then 'удалён'
            when 'banned' then 'заблокирован'
            when 'scam' then 'помечен сетью как мошеннический'
            when 'fake' then 'помечен сетью как поддельный'
            else 'недоступен (' || deactivated_reason || ')'
        end || '.'
    when 'closed' then 'Аккаунт закрыт: записи видят только участники.'
end
{%- endmacro %}

{% macro compliance_acc02_detail_ru() -%}
case
    when not is_available then unavailable_detail
    when account_name is null then 'название аккаунта не получено'
    else account_name
end
{%- endmacro %}

{% macro compliance_acc03_detail_ru() -%}
case
    when not is_available then unavailable_detail
    when has_avatar is null or (is_cover_required and has_cover is null) then 'нет данных об аватаре или обложке'
    when has_avatar and is_cover_required and has_cover then 'аватар и обложка есть'
    when has_avatar and not is_cover_required then 'аватар есть (обложка в сети ' || network_name_ru || ' не проверяется)'
    else concat_ws(', ',
        case when not has_avatar then 'нет аватара' end,
        case when is_cover_required and not has_cover then 'нет обложки' end)
end
{%- endmacro %}

{% macro compliance_acc04_detail_ru() -%}
case
    when not is_available then unavailable_detail
    else concat_ws(', ',
        case when not has_activity_info then 'описание деятельности' end,
        case when not has_phone then 'телефон' end,
        case when not has_address then 'адрес' end,
        case when not has_email then 'e-mail' end,
        case when not has_website then 'сайт' end)
end
{%- endmacro %}

{% macro compliance_acc05_detail_ru() -%}
case
    when not is_verification_applicable
        then 'в сети ' || network_name_ru || ' отметка не проверяется (не применяется)'
    when not is_available then unavailable_detail
    when is_verified is null then 'нет данных о верификации'
end
{%- endmacro %}

{% macro compliance_acc06_detail_ru() -%}
case
    when not is_open_comments_applicable
        then 'в сети ' || network_name_ru || ' открытые комментарии не обязательны (не применяется)'
            || case
                when not is_available then ''
                when are_comments_open then '; обсуждение подключено'
                when not are_comments_open then '; комментарии отключены'
                else ''
            end
    when not is_available then unavailable_detail
    when are_comments_open is null then 'нет постов, по которым можно проверить комментарии'
    when setting_post_date is not null then ' (по последнему посту от ' || {{ compliance_ru_date('setting_post_date') }} || ')'
    when not are_comments_open and platform = 'vk' then ': стена закрыта'
    else ''
end
{%- endmacro %}

{% macro compliance_acc07_detail_ru() -%}
case
    when not is_available then unavailable_detail
    when posts_7d < min_posts_7d and created_date > compliance_date - 6
        then 'аккаунт создан ' || {{ compliance_ru_date('created_date') }} || ', неделя неполная (постов '
            || posts_7d || ' при норме ' || min_posts_7d || ')'
end
{%- endmacro %}

{% macro compliance_acc08_detail_ru() -%}
case
    when not is_available then unavailable_detail
    when days_without_post is null
        then 'постов аккаунта не найдено, а наблюдение за ним идёт не дольше '
            || {{ var('compliance_max_days_without_post') }} || ' дней'
    when last_post_date >= coalesce(created_date, last_post_date)
        then '; последний пост ' || {{ compliance_ru_date('last_post_date') }}
    when created_date is not null
        then '; постов не было с создания аккаунта ' || {{ compliance_ru_date('created_date') }}
    else '; постов не было с начала наблюдения ' || {{ compliance_ru_date('first_metadata_date') }}
end
{%- endmacro %}

{% macro compliance_acc09_detail_ru() -%}
case
    when not is_available then unavailable_detail
    when questions_due_7d = 0
        then 'Вопросов граждан под постами аккаунта со сроком ответа за 7 дней не было'
            || case when platform = 'telegram' and has_open_comments = false
                then ' (комментарии в канале отключены)' else '' end || '.'
    else 'Вопросов граждан под постами аккаунта со сроком ответа за 7 дней: ' || questions_due_7d
        || ', в срок отвечено ' || questions_on_time_7d || ' (' || {{ compliance_ru_number('questions_on_time_pct') }}
        || '% при норме ' || {{ var('compliance_min_questions_on_time_pct') }} || '%).'
end
{%- endmacro %}

{% macro compliance_acc10_detail_ru() -%}
case
    when not is_available then unavailable_detail
    else concat_ws('; ',
        'ERpost (медиана за 7 дней) ' || coalesce(
            {{ compliance_ru_number('er_post_median_7d_pct') }} || '% при пороге '
                || {{ compliance_ru_number(var('compliance_min_er_post_pct') ~ '::numeric') }} || '%',
            case
                when posts_7d = 0 then 'не вычисляется: нет постов за 7 дней'
                when coalesce(follower_count, 0) = 0 then 'не вычисляется: 0 подписчиков'
                else 'не вычисляется'
            end),
        'ERview ' || coalesce(
            {{ compliance_ru_number('er_view_median_7d_pct') }} || '% при пороге '
                || {{ compliance_ru_number(var('compliance_min_er_view_pct') ~ '::numeric') }} || '%',
            case
                when posts_7d = 0 then 'не вычисляется: нет постов за 7 дней'
                else 'не вычисляется: нет данных о просмотрах'
            end),
        'прирост аудитории за неделю ' || coalesce(
            case when audience_growth_wow_pct > 0 then '+' else '' end
                || {{ compliance_ru_number('audience_growth_wow_pct') }} || '% при пороге '
                || {{ compliance_ru_number(var('compliance_min_audience_growth_pct') ~ '::numeric') }} || '%',
            'не оценён: нет данных о подписчиках неделю назад'))
end
{%- endmacro %}

{#- The explanation of check `column` (e.g. acc01): its status's template with {value}, {threshold}
    and {detail} filled in (columns of `checks`, templates of the `templates` CTE). -#}
{% macro compliance_explanation_ru(column) -%}
replace(replace(replace(
    case checks.{{ column }}_status
        when 'passed' then templates.{{ column }}_passed_template
        when 'failed' then templates.{{ column }}_failed_template
        else templates.{{ column }}_not_evaluated_template
    end,
    '{value}', coalesce({{ compliance_ru_number('checks.' ~ column ~ '_value::numeric') }}, '—')),
    '{threshold}', coalesce({{ compliance_ru_number('checks.' ~ column ~ '_threshold::numeric') }}, '—')),
    '{detail}', coalesce(checks.{{ column }}_detail, ''))
{%- endmacro %}
