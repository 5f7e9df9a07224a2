{{
    config(
        materialized='incremental',
        unique_key='source_message_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        post_hook=[
            "delete from {{ this }} as classified where not exists (select 1 from {{ ref('int_messages_unioned') }} as messages where messages.source_message_key = classified.source_message_key)"
        ],
    )
}}

{#- Rules over the lower-cased text (ё -> е), all read from the lexicons in seeds/rules:
    reason, in this order: official_author, advertising_spam, abusive, out_of_scope (when its markers hit at
    least as often as the category's keywords), not_about_authorities (a marker, or no category), and
    duplicate (same author, same normalised text within var duplicate_window_hours of an earlier copy).
    An incremental run re-classifies new or edited messages and those classified under another
    rule_version. -#}

with

unioned as (
    select * from {{ ref('int_messages_unioned') }}
),

category_keywords as (
    select * from {{ ref('category_keywords') }}
),

categories as (
    select * from {{ ref('categories') }}
),

body_aliases as (
    select * from {{ ref('body_aliases') }}
),

non_incident_markers as (
    select * from {{ ref('non_incident_markers') }}
),

importance_markers as (
    select * from {{ ref('importance_markers') }}
),

municipality_aliases as (
    select * from {{ ref('municipality_aliases') }}
),

place_words as (
    select * from {{ ref('place_words') }}
),

messages as (
    select
        *,
        {{ normalize_text('message_text') }}                                   as normalized_text,
        -- without VK mention markup: "[club200002|Министерство транспорта и дорожного ...], спасибо"
        -- names a body (kept for bodies and places) but is no keyword of a category
        regexp_replace(
            {{ normalize_text('message_text') }}, '\[(club|public|event|id)[0-9]+\|[^]]*\]', ' ', 'g'
        )                                                                      as content_text
    from unioned
    {% if is_incremental() %}
    where not exists (
        select 1
        from {{ this }} as classified
        where classified.source_message_key = unioned.source_message_key
            and classified.loaded_at = unioned.loaded_at
            and classified.rule_version = '{{ var("rule_version") }}'
    )
    {% endif %}
),

-- one regular expression per category, marker reason and body

category_patterns as (
    select category_code, string_agg('(?:' || pattern || ')', '|' order by pattern) as pattern
    from category_keywords
    group by category_code
),

marker_patterns as (
    select reason_code, string_agg('(?:' || pattern || ')', '|' order by pattern) as pattern
    from non_incident_markers
    group by reason_code
),

body_patterns as (
    select body_code, string_agg('(?:' || pattern || ')', '|' order by pattern) as pattern
    from body_aliases
    group by body_code
),

any_body_pattern as (
    select string_agg('(?:' || pattern || ')', '|' order by pattern) as pattern
    from body_aliases
),

importance_pattern as (
    select string_agg('(?:' || pattern || ')', '|' order by pattern) as pattern
    from importance_markers
    where importance = 'high'
),

-- category: most keyword hits, then the earliest hit

category_hits as (
    select
        messages.source_message_key,
        category_patterns.category_code,
        regexp_count(messages.content_text, category_patterns.pattern) as hit_count,
        regexp_instr(messages.content_text, category_patterns.pattern) as first_hit_position
    from messages
    cross join category_patterns
    where messages.content_text ~ category_patterns.pattern
),

best_categories as (
    select distinct on (source_message_key)
        source_message_key,
        category_code,
        hit_count as category_hit_count
    from category_hits
    order by source_message_key, hit_count desc, first_hit_position, category_code
),

marker_hits as (
    select
        messages.source_message_key,
        count(*) filter (where marker_patterns.reason_code = 'advertising_spam')      as advertising_hits,
        count(*) filter (where marker_patterns.reason_code = 'abusive')               as abusive_hits,
        sum(regexp_count(messages.content_text, marker_patterns.pattern))
            filter (where marker_patterns.reason_code = 'out_of_scope')               as out_of_scope_hits,
        count(*) filter (where marker_patterns.reason_code = 'not_about_authorities') as not_about_authorities_hits
    from messages
    cross join marker_patterns
    where messages.content_text ~ marker_patterns.pattern
    group by messages.source_message_key
),

-- a krai body named in the text: the first one named (one combined pattern finds the few that name any)

naming_messages as (
    select messages.source_message_key, messages.normalized_text
    from messages
    cross join any_body_pattern
    where messages.normalized_text ~ any_body_pattern.pattern
),

named_bodies as (
    select distinct on (naming_messages.source_message_key)
        naming_messages.source_message_key,
        body_patterns.body_code
    from naming_messages
    cross join body_patterns
    where naming_messages.normalized_text ~ body_patterns.pattern
    order by
        naming_messages.source_message_key,
        regexp_instr(naming_messages.normalized_text, body_patterns.pattern),
        body_patterns.body_code
),

high_importance as (
    select messages.source_message_key
    from messages
    cross join importance_pattern
    where messages.content_text ~ importance_pattern.pattern
),

-- municipality named in the text: whole-word matches of the declined gazetteer names

tokens as (
    select
        messages.source_message_key,
        words.token,
        words.token_position
    from messages
    cross join lateral regexp_split_to_table(messages.normalized_text, {{ word_separator() }})
        with ordinality as words (token, token_position)
    where words.token <> ''
),

aliases as (
    select
        row_number() over (order by alias_ru, municipality_code)   as alias_id,
        municipality_code,
        priority,
        requires_type_word,
        settlement_type,
        regexp_split_to_array(
            trim(regexp_replace({{ normalize_text('alias_ru') }}, {{ word_separator() }}, ' ', 'g')), ' '
        )                                                           as alias_words
    from municipality_aliases
),

alias_forms as (
    select distinct
        aliases.alias_id,
        aliases.municipality_code,
        aliases.priority,
        aliases.requires_type_word,
        aliases.settlement_type,
        cardinality(aliases.alias_words)                as word_count,
        words.word_position,
        unnest({{ ru_word_forms('words.word') }})       as form
    from aliases
    cross join lateral unnest(aliases.alias_words) with ordinality as words (word, word_position)
),

first_word_matches as (
    select
        tokens.source_message_key,
        tokens.token_position                           as start_position,
        alias_forms.alias_id,
        alias_forms.municipality_code,
        alias_forms.priority,
        alias_forms.requires_type_word,
        alias_forms.settlement_type,
        alias_forms.word_count
    from tokens
    inner join alias_forms
        on alias_forms.form = tokens.token
        and alias_forms.word_position = 1
),

-- a name of several words matches when each further word is at the next position
following_word_matches as (
    select
        first_word_matches.source_message_key,
        first_word_matches.start_position,
        first_word_matches.alias_id,
        count(distinct alias_forms.word_position)       as matched_word_count
    from first_word_matches
    inner join alias_forms
        on alias_forms.alias_id = first_word_matches.alias_id
        and alias_forms.word_position > 1
    inner join tokens
        on tokens.source_message_key = first_word_matches.source_message_key
        and tokens.token_position = first_word_matches.start_position + alias_forms.word_position - 1
        and tokens.token = alias_forms.form
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
        -- confirmed by a type word of the settlement's own type (в хуторе Красная Поляна)
        coalesce(
            alias_matches.requires_type_word
            and alias_matches.settlement_type is not null
            and place_words.settlement_type is not null,
            false
        )                                       as is_typed
    from alias_matches
    left join tokens as previous_token
        on previous_token.source_message_key = alias_matches.source_message_key
        and previous_token.token_position = alias_matches.start_position - 1
    left join place_words
        on place_words.word = previous_token.token
    where coalesce(place_words.word_kind, '') <> 'street'
        and (
            not alias_matches.requires_type_word
            or place_words.word_kind = 'settlement_type' and (
                place_words.settlement_type is null
                or alias_matches.settlement_type is null
                or place_words.settlement_type = alias_matches.settlement_type
                or place_words.settlement_type = 'посёлок' and alias_matches.settlement_type = 'посёлок городского типа'
            )
        )
),

-- at one position: the longest name, then one confirmed by its type word, then the lowest priority;
-- a tie between municipalities is ambiguous
mentions as (
    select distinct on (source_message_key, start_position)
        source_message_key,
        start_position,
        municipality_code,
        is_ambiguous
    from (
        select
            source_message_key,
            start_position,
            word_count,
            is_typed,
            priority,
            min(municipality_code)                 as municipality_code,
            count(distinct municipality_code) > 1  as is_ambiguous
        from qualified_matches
        group by source_message_key, start_position, word_count, is_typed, priority
    ) as candidates
    order by source_message_key, start_position, word_count desc, is_typed desc, priority
),

-- the municipality mentioned most, then first
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
        where not is_ambiguous
        group by source_message_key, municipality_code
    ) as counted
    order by source_message_key, mention_count desc, first_position
),

-- the rules together

ruled as (
    select
        messages.*,
        best_categories.category_code,
        named_bodies.body_code                                    as named_body_code,
        categories.default_body_code,
        coalesce(text_municipalities.municipality_code, messages.community_municipality_code)
                                                                  as municipality_code,
        case
            when text_municipalities.municipality_code is not null then 'text'
            when messages.community_municipality_code is not null then 'community'
        end                                                       as municipality_source,
        high_importance.source_message_key is not null            as is_high_importance,
        case
            when messages.author_is_official
                then 'official_author'
            when messages.is_marked_as_ads or coalesce(marker_hits.advertising_hits, 0) > 0
                then 'advertising_spam'
            when coalesce(marker_hits.abusive_hits, 0) > 0
                then 'abusive'
            {%- if not var('community_posts_are_incidents') %}
            when messages.author_kind = 'community'
                then 'not_about_authorities'
            {%- endif %}
            when coalesce(marker_hits.out_of_scope_hits, 0) > 0
                and marker_hits.out_of_scope_hits >= coalesce(best_categories.category_hit_count, 0)
                then 'out_of_scope'
            when coalesce(marker_hits.not_about_authorities_hits, 0) > 0 or best_categories.category_code is null
                then 'not_about_authorities'
        end                                                       as rule_reason,
        nullif(
            trim(regexp_replace(messages.normalized_text, {{ word_separator() }}, ' ', 'g')), ''
        )                                                         as duplicate_text_key
    from messages
    left join best_categories
        on best_categories.source_message_key = messages.source_message_key
    left join categories
        on categories.code = best_categories.category_code
    left join named_bodies
        on named_bodies.source_message_key = messages.source_message_key
    left join text_municipalities
        on text_municipalities.source_message_key = messages.source_message_key
    left join marker_hits
        on marker_hits.source_message_key = messages.source_message_key
    left join high_importance
        on high_importance.source_message_key = messages.source_message_key
),

-- duplicates: among would-be incidents, the same author and text within the window of an earlier copy

duplicate_candidates as (
    select source_message_key, platform, author_id, duplicate_text_key, published_at
    from ruled
    where rule_reason is null and duplicate_text_key is not null
    {% if is_incremental() %}
    union all
    select source_message_key, platform, author_id, duplicate_text_key, published_at
    from {{ this }} as classified
    where (classified.is_incident or classified.non_incident_reason = 'duplicate')
        and classified.published_at >= (select min(published_at) from ruled)
            - interval '{{ var("duplicate_window_hours") }} hours'
        and not exists (select 1 from messages where messages.source_message_key = classified.source_message_key)
    {% endif %}
),

-- a would-be incident repeats the same author's earlier one when their texts are near-identical
duplicate_pairs as (
    select
        later.source_message_key,
        earlier.source_message_key  as earlier_message_key,
        earlier.published_at        as earlier_published_at
    from duplicate_candidates as later
    inner join duplicate_candidates as earlier
        on earlier.platform = later.platform
        and earlier.author_id = later.author_id
        and (earlier.published_at, earlier.source_message_key) < (later.published_at, later.source_message_key)
        and earlier.published_at >= later.published_at - interval '{{ var("duplicate_window_hours") }} hours'
    where similarity(earlier.duplicate_text_key, later.duplicate_text_key) >= {{ var('duplicate_min_similarity') }}
),

duplicates as (
    select distinct on (source_message_key)
        source_message_key,
        earlier_message_key as duplicate_of_message_key
    from duplicate_pairs
    order by source_message_key, earlier_published_at, earlier_message_key
),

final as (
    select
        ruled.source_message_key,
        ruled.platform,
        ruled.message_kind,
        ruled.author_id,
        ruled.author_kind,
        ruled.author_is_official,
        ruled.account_key,
        ruled.account_body_code,
        ruled.community_key,
        ruled.community_municipality_code,
        ruled.thread_root_key,
        ruled.parent_message_key,
        ruled.reply_thread_key,
        ruled.published_at,
        ruled.detected_at,
        ruled.loaded_at,
        ruled.message_text,
        ruled.message_url,
        ruled.rule_reason is null and duplicates.source_message_key is null     as is_incident,
        coalesce(ruled.rule_reason, case when duplicates.source_message_key is not null then 'duplicate' end)
                                                                                as non_incident_reason,
        ruled.category_code,
        case
            when ruled.rule_reason is null and duplicates.source_message_key is null
                then coalesce(ruled.named_body_code, ruled.default_body_code)
        end                                                                     as responsible_body_code,
        ruled.named_body_code,
        ruled.municipality_code,
        ruled.municipality_source,
        case
            when ruled.rule_reason is null and duplicates.source_message_key is null
                then case when ruled.is_high_importance then 'high' else 'normal' end
        end                                                                     as importance,
        duplicates.duplicate_of_message_key,
        ruled.duplicate_text_key,
        '{{ var("rule_version") }}'::text                                       as rule_version
    from ruled
    left join duplicates
        on duplicates.source_message_key = ruled.source_message_key
)

select * from final
