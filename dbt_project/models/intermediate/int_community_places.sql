{{ config(materialized='table', indexes=[{'columns': ['community_key']}]) }}

{#- The krai municipality of each community outside the registry, from what the platform says about it:
    its city (VK's city, OK's city), failing that the one municipality its description names (by the
    name of the municipality or its centre, in any case form: "Новости Тихорецка"). A message found by
    search that names no place gets its municipality from here (int_messages_unioned). Registered
    communities have the registry's municipality, and official accounts their body's: neither is here. -#}

with

vk_groups as (
    select * from {{ ref('stg_vk__groups') }}
),

ok_groups as (
    select * from {{ ref('stg_ok__groups') }}
),

telegram_channels as (
    select * from {{ ref('stg_telegram__channels') }}
),

monitored_communities as (
    select * from {{ ref('monitored_communities') }}
),

official_accounts as (
    select * from {{ ref('official_accounts') }}
),

municipality_aliases as (
    select * from {{ ref('municipality_aliases') }}
),

described as (
    select 'vk:' || owner_id as community_key, city, description from vk_groups
    union all
    select 'ok:' || group_id, city, description from ok_groups
    union all
    select 'telegram:' || channel_id, null, description from telegram_channels
),

communities as (
    select
        described.community_key,
        {{ normalize_text('described.city') }}                                  as city,
        ' ' || trim(regexp_replace({{ normalize_text('described.description') }}, {{ word_separator() }}, ' ', 'g'))
            || ' '                                                              as description_words
    from described
    left join monitored_communities
        on monitored_communities.source_id = described.community_key
    left join official_accounts
        on official_accounts.account_key = described.community_key
    where monitored_communities.source_id is null
        and official_accounts.account_key is null
),

-- a city is a settlement's name as it is: one municipality has it, or the city says nothing
city_names as (
    select {{ normalize_text('alias_ru') }} as city, min(municipality_code) as municipality_code
    from municipality_aliases
    where alias_kind in ('admin_centre', 'settlement', 'city_district')
    group by 1
    having count(distinct municipality_code) = 1
),

-- a description counts by the names of municipalities and their centres, in their case forms
description_names as (
    select
        municipality_code,
        ' ' || string_agg('(' || array_to_string({{ ru_word_forms('word') }}, '|') || ')', ' ' order by position)
            || ' '                                                              as pattern
    from municipality_aliases
    cross join lateral unnest(
        regexp_split_to_array(trim(regexp_replace({{ normalize_text('alias_ru') }}, {{ word_separator() }}, ' ', 'g')), ' ')
    ) with ordinality as words (word, position)
    where alias_kind in ('admin_centre', 'municipality')
    group by alias_ru, municipality_code
),

by_description as (
    select communities.community_key, min(description_names.municipality_code) as municipality_code
    from communities
    inner join description_names
        on communities.description_words ~ description_names.pattern
    group by communities.community_key
    having count(distinct description_names.municipality_code) = 1
),

final as (
    select
        communities.community_key,
        coalesce(city_names.municipality_code, by_description.municipality_code)   as municipality_code,
        case
            when city_names.municipality_code is not null then 'city'
            else 'description'
        end                                                                         as municipality_source
    from communities
    left join city_names
        on city_names.city = communities.city
    left join by_description
        on by_description.community_key = communities.community_key
    where coalesce(city_names.municipality_code, by_description.municipality_code) is not null
)

select * from final
