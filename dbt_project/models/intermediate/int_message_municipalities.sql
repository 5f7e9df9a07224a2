{{
    config(
        tags=["classifier"],
        materialized='incremental',
        unique_key='source_message_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['source_message_key']},
            {'columns': ['unioned_at']},
            {'columns': ['rule_version']},
        ],
        pre_hook=[
            "set local work_mem = '256MB'",
            "set local jit = off",
        ],
    )
}}

{#- The places a message's text names: the krai municipality it names (the gazetteer of the krai's
    settlements, city districts and names, seeds/rules/municipality_aliases.csv), and the first place
    outside the krai it names (seeds/rules/out_of_region_places.csv: neighbouring regions, Adygea's
    settlements around Krasnodar, Crimea, capitals). One row per message, also when it names none.
    Names are matched as whole sequences of words (int_message_tokens) in their case forms
    (ru_word_forms), by a hash join of the message's words against the forms. An incremental run reads
    the messages split since its watermark (unioned_at), all of them when some row has another
    rule_version. JIT is off and work_mem 256 MB in its transaction: Postgres JIT-compiled the plan at full
    optimisation (1.3 s of 6.7 s for 200,000 messages) and its sorts of the mentions spilled to disk. -#}

{%- set rule_version = rule_version() %}

with

tokens as (
    select * from {{ ref('int_message_tokens') }}
),

municipality_aliases as (
    select * from {{ ref('municipality_aliases') }}
),

out_of_region_places as (
    select * from {{ ref('out_of_region_places') }}
),

place_words as (
    select * from {{ ref('place_words') }}
),

messages as (
    select source_message_key, loaded_at, unioned_at, words
    from tokens
    {% if is_incremental() %}
    {%- if not holds_other_rule_version(rule_version) %}
    -- (re)split by int_message_tokens since this model's last run
    where tokens.unioned_at > {{ processed_since('unioned_at') }}
    {%- endif %}
    {% endif %}
),

-- the gazetteer: the krai's names, and the places outside it (municipality_code null)

aliases as (
    select
        row_number() over (order by alias_ru, municipality_code)   as alias_id,
        alias_ru,
        municipality_code,
        priority,
        requires_type_word,
        -- a centre, town or stanitsa whose name is also a street's (Павловская, Курганинск) counts
        -- without its type word when it heads the message or follows "в" (в Павловской, not на Павловской)
        alias_kind = 'admin_centre'
            or priority <= 3 and settlement_type in ('станица', 'город')   as is_named_by_position,
        settlement_type,
        regexp_split_to_array(
            trim(regexp_replace({{ normalize_text('alias_ru') }}, {{ word_separator() }}, ' ', 'g')), ' '
        )                                                           as alias_words
    from (
        select alias_ru, municipality_code, alias_kind, priority, requires_type_word, settlement_type
        from municipality_aliases
        union all
        select alias_ru, null, 'out_of_region', 3, requires_type_word, settlement_type
        from out_of_region_places
    ) as names
),

alias_forms as (
    select distinct
        aliases.alias_id,
        aliases.alias_ru,
        aliases.municipality_code,
        aliases.priority,
        aliases.requires_type_word,
        aliases.is_named_by_position,
        aliases.settlement_type,
        cardinality(aliases.alias_words)                as word_count,
        words.word_position,
        unnest({{ ru_word_forms('words.word') }})       as form
    from aliases
    cross join lateral unnest(aliases.alias_words) with ordinality as words (word, word_position)
),

-- the first word of a name, found by a hash join of every word of the messages against the forms

first_word_matches as (
    select
        messages.source_message_key,
        message_words.word_position                     as start_position,
        -- the word before (a type word, "в", a street word) and the words a longer name needs after it: a
        -- match does not carry the message's whole word array (a CTE of 550,000 such rows spilled 226 MB
        -- for 200,000 messages)
        messages.words[message_words.word_position - 1] as previous_word,
        case
            when alias_forms.word_count > 1
                then messages.words[message_words.word_position + 1 : message_words.word_position + alias_forms.word_count - 1]
        end                                             as following_words,
        alias_forms.alias_id,
        alias_forms.alias_ru,
        alias_forms.municipality_code,
        alias_forms.priority,
        alias_forms.requires_type_word,
        alias_forms.is_named_by_position,
        alias_forms.settlement_type,
        alias_forms.word_count
    from messages
    cross join lateral unnest(messages.words) with ordinality as message_words (word, word_position)
    inner join alias_forms
        on alias_forms.form = message_words.word
        and alias_forms.word_position = 1
),

-- a name of several words matches when each further word is at the next position: the words that follow a
-- first word meet the names' further forms by a hash join of (name, position, word). A join by the name
-- alone compared every further form of the name with every first word found (2.6 M comparisons for
-- 200,000 messages, after a sort of the matches with their word arrays that spilled 128 MB)
following_word_matches as (
    select
        first_word_matches.source_message_key,
        first_word_matches.start_position,
        first_word_matches.alias_id,
        count(distinct alias_forms.word_position)       as matched_word_count
    from first_word_matches
    cross join lateral unnest(first_word_matches.following_words) with ordinality as following (word, word_offset)
    inner join alias_forms
        on alias_forms.alias_id = first_word_matches.alias_id
        and alias_forms.word_position = following.word_offset + 1
        and alias_forms.form = following.word
    where first_word_matches.word_count > 1
    group by first_word_matches.source_message_key, first_word_matches.start_position, first_word_matches.alias_id
),

alias_matches as (
    select first_word_matches.*
    from first_word_matches
    left join following_word_matches
        on following_word_matches.source_message_key = first_word_matches.source_message_key
        and following_word_matches.start_position = first_word_matches.start_position
        and following_word_matches.alias_id = first_word_matches.alias_id
    where first_word_matches.word_count = 1
        or following_word_matches.matched_word_count = first_word_matches.word_count - 1
),

-- names that are also ordinary words count only after a settlement type word of their type (х., пос.,
-- ст-ца ...: "с утра" is no mention of the посёлок Утро); none counts right after a street word
-- (ул. Калинина is a street, not the village Калинино)
qualified_matches as (
    select
        alias_matches.source_message_key,
        alias_matches.start_position,
        alias_matches.word_count,
        alias_matches.priority,
        alias_matches.municipality_code,
        alias_matches.alias_ru,
        -- confirmed by a type word of the settlement's own type (в хуторе Красная Поляна)
        coalesce(
            alias_matches.requires_type_word
            and alias_matches.settlement_type is not null
            and place_words.settlement_type is not null,
            false
        )                                       as is_typed
    from alias_matches
    left join place_words
        on place_words.word = alias_matches.previous_word
    where coalesce(place_words.word_kind, '') <> 'street'
        and (
            not alias_matches.requires_type_word
            or alias_matches.is_named_by_position and (
                alias_matches.previous_word in ('в', 'во')
                or alias_matches.start_position = 1
            )
            or place_words.word_kind = 'settlement_type' and (
                place_words.settlement_type is null
                or alias_matches.settlement_type is null
                or place_words.settlement_type = alias_matches.settlement_type
                or place_words.settlement_type = 'посёлок' and alias_matches.settlement_type = 'посёлок городского типа'
            )
        )
),

-- at one position: the longest name, then one confirmed by its type word, then the lowest priority;
-- a tie between municipalities (or the krai and outside it) is ambiguous
mentions as (
    select distinct on (source_message_key, start_position)
        source_message_key,
        start_position,
        municipality_code,
        alias_ru,
        is_out_of_region,
        is_ambiguous
    from (
        select
            source_message_key,
            start_position,
            word_count,
            is_typed,
            priority,
            min(municipality_code)                                          as municipality_code,
            min(alias_ru)                                                   as alias_ru,
            bool_and(municipality_code is null)                             as is_out_of_region,
            count(distinct coalesce(municipality_code, 'outside')) > 1      as is_ambiguous
        from qualified_matches
        group by source_message_key, start_position, word_count, is_typed, priority
    ) as candidates
    order by source_message_key, start_position, word_count desc, is_typed desc, priority
),

-- the krai municipality mentioned most, then first
text_municipalities as (
    select distinct on (source_message_key)
        source_message_key,
        municipality_code
    from (
        select
            source_message_key,
            municipality_code,
            count(*)            as mention_count,
            min(start_position) as first_position
        from mentions
        where not is_ambiguous and not is_out_of_region
        group by source_message_key, municipality_code
    ) as counted
    order by source_message_key, mention_count desc, first_position
),

-- the first place outside the krai
out_of_region_mentions as (
    select distinct on (source_message_key)
        source_message_key,
        alias_ru                as out_of_region_place
    from mentions
    where not is_ambiguous and is_out_of_region
    order by source_message_key, start_position
),

final as (
    select
        messages.source_message_key,
        messages.loaded_at,
        messages.unioned_at,
        text_municipalities.municipality_code               as text_municipality_code,
        out_of_region_mentions.out_of_region_place,
        '{{ rule_version }}'::text                          as rule_version
    from messages
    left join text_municipalities
        on text_municipalities.source_message_key = messages.source_message_key
    left join out_of_region_mentions
        on out_of_region_mentions.source_message_key = messages.source_message_key
)

select * from final
