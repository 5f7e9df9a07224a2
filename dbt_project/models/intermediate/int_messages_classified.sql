{{
    config(
        materialized='incremental',
        unique_key='source_message_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['source_message_key']},
            {'columns': ['loaded_at']},
            {'columns': ['unioned_at']},
            {'columns': ['classified_at']},
            {'columns': ['rule_version']},
            {'columns': ['author_id', 'published_at']},
            {'columns': ['published_at']},
            {'columns': ['thread_root_key']},
            {'columns': ['reply_thread_key']},
            {'columns': ['parent_message_key']},
        ],
    )
}}

{#- Rules over the lower-cased text (ё -> е), all read from the lexicons in seeds/rules:
    - reason, in this order: official_author, advertising_spam, abusive, not_about_authorities for a
      community's own post (unless it relays a citizen's message), out_of_scope (when its markers' score
      is at least the category's), not_about_authorities (no category, or a marker and no complaint), and
      duplicate (the same author's near-identical text within var duplicate_window_hours of an earlier
      would-be incident, in one or several networks);
    - category by weighted keywords; body named in the text, else the category's default; municipality
      named in the text (gazetteer, word forms), else the monitored community's; importance by markers.
    Human corrections (seeds/overrides/classification_overrides.csv) win over every rule and are shown
    (is_overridden, override_by, override_reason).
    An incremental run classifies the messages int_messages_unioned wrote since the ones it classified last
    (its own largest unioned_at: a run that was interrupted or skipped loses nothing), and those with (or
    formerly with) a correction; all of them when some row was classified under another rule_version.
    Every row written carries classified_at, the watermark of the models downstream. -#}

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

relayed_message_markers as (
    select * from {{ ref('relayed_message_markers') }}
),

complaint_markers as (
    select * from {{ ref('complaint_markers') }}
),

municipality_aliases as (
    select * from {{ ref('municipality_aliases') }}
),

place_words as (
    select * from {{ ref('place_words') }}
),

author_links as (
    select * from {{ ref('author_links') }}
),

classification_overrides as (
    select * from {{ ref('classification_overrides') }}
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
    {%- set reclassify_all = false %}
    {%- if execute %}
        {%- set other_versions = run_query(
            "select exists (select 1 from " ~ this ~ " where rule_version <> '" ~ var('rule_version') ~ "')"
        ) %}
        {%- set reclassify_all = other_versions.columns[0].values()[0] %}
    {%- endif %}
    {%- if not reclassify_all %}
    -- (re)written by int_messages_unioned since the last classification (new, edited, or in a changed
    -- context), and the few messages with (or formerly with) a human correction
    where unioned.unioned_at > {{ processed_since('unioned_at') }}
        or unioned.source_message_key in (
            select source_message_key from {{ ref('classification_overrides') }}
            {%- if 'is_overridden' in adapter.get_columns_in_relation(this) | map(attribute='name') | list %}
            union all
            select source_message_key from {{ this }} where is_overridden
            {%- endif %}
        )
    {%- endif %}
    {% endif %}
),

-- one regular expression per category and keyword weight, marker reason and weight, and body

category_patterns as (
    select category_code, weight, string_agg('(?:' || pattern || ')', '|' order by pattern) as pattern
    from category_keywords
    group by category_code, weight
),

marker_patterns as (
    select reason_code, weight, string_agg('(?:' || pattern || ')', '|' order by pattern) as pattern
    from non_incident_markers
    group by reason_code, weight
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

relayed_message_pattern as (
    select string_agg('(?:' || pattern || ')', '|' order by pattern) as pattern
    from relayed_message_markers
),

complaint_pattern as (
    select string_agg('(?:' || pattern || ')', '|' order by pattern) as pattern
    from complaint_markers
),

importance_pattern as (
    select string_agg('(?:' || pattern || ')', '|' order by pattern) as pattern
    from importance_markers
    where importance = 'high'
),

-- category: the score of each (keyword hits times their weights)

-- (each pattern runs over all messages in turn, so that Postgres compiles it once, not once a message)
category_hits as (
    select
        hits.source_message_key,
        category_patterns.category_code,
        category_patterns.weight * hits.hit_count       as score,
        hits.first_hit_position
    from category_patterns
    cross join lateral (
        select
            messages.source_message_key,
            regexp_count(messages.content_text, category_patterns.pattern) as hit_count,
            regexp_instr(messages.content_text, category_patterns.pattern) as first_hit_position
        from messages
        where messages.content_text ~ category_patterns.pattern
        offset 0  -- not flattened into a join: the pattern stays the outer loop
    ) as hits
),

category_scores as (
    select
        source_message_key,
        category_code,
        sum(score)              as score,
        min(first_hit_position) as first_hit_position
    from category_hits
    group by source_message_key, category_code
),

marker_hits as (
    select
        hits.source_message_key,
        count(*) filter (where marker_patterns.reason_code = 'advertising_spam')      as advertising_hits,
        count(*) filter (where marker_patterns.reason_code = 'abusive')               as abusive_hits,
        sum(marker_patterns.weight * hits.hit_count)
            filter (where marker_patterns.reason_code = 'out_of_scope')               as out_of_scope_score,
        count(*) filter (where marker_patterns.reason_code = 'not_about_authorities') as not_about_authorities_hits
    from marker_patterns
    cross join lateral (
        select messages.source_message_key, regexp_count(messages.content_text, marker_patterns.pattern) as hit_count
        from messages
        where messages.content_text ~ marker_patterns.pattern
        offset 0
    ) as hits
    group by hits.source_message_key
),

-- a message that reports a problem or asks for action ("куда жаловаться", "третий день нет воды")
complaints as (
    select messages.source_message_key
    from messages
    cross join complaint_pattern
    where messages.content_text ~ complaint_pattern.pattern
),

-- a krai body named in the text: the first one named (one combined pattern finds the few that name any)

naming_messages as (
    select messages.source_message_key, messages.normalized_text
    from messages
    cross join any_body_pattern
    where messages.normalized_text ~ any_body_pattern.pattern
),

named_bodies as (
    select distinct on (named.source_message_key)
        named.source_message_key,
        body_patterns.body_code
    from body_patterns
    cross join lateral (
        select
            naming_messages.source_message_key,
            regexp_instr(naming_messages.normalized_text, body_patterns.pattern) as position
        from naming_messages
        where naming_messages.normalized_text ~ body_patterns.pattern
        offset 0
    ) as named
    order by named.source_message_key, named.position, body_patterns.body_code
),

-- the best score; a tie goes to a category of the body the text names (Минспорт: бассейн and льготы),
-- then to the earliest hit
best_categories as (
    select distinct on (category_scores.source_message_key)
        category_scores.source_message_key,
        category_scores.category_code,
        category_scores.score as category_score
    from category_scores
    left join categories
        on categories.code = category_scores.category_code
    left join named_bodies
        on named_bodies.source_message_key = category_scores.source_message_key
    order by
        category_scores.source_message_key,
        category_scores.score desc,
        coalesce(categories.default_body_code = named_bodies.body_code, false) desc,
        category_scores.first_hit_position,
        category_scores.category_code
),

-- a community post relaying a citizen's message ("📩 Пишет подписчик: ...") speaks for the citizen
relayed_messages as (
    select messages.source_message_key
    from messages
    cross join relayed_message_pattern
    where messages.author_kind = 'community'
        and messages.normalized_text ~ relayed_message_pattern.pattern
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

-- where each message's first word is: a place named first ("Павловская: нет воды") is a heading
message_starts as (
    select source_message_key, min(token_position) as first_position
    from tokens
    group by source_message_key
),

aliases as (
    select
        row_number() over (order by alias_ru, municipality_code)   as alias_id,
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
    from municipality_aliases
),

alias_forms as (
    select distinct
        aliases.alias_id,
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

first_word_matches as (
    select
        tokens.source_message_key,
        tokens.token_position                           as start_position,
        alias_forms.alias_id,
        alias_forms.municipality_code,
        alias_forms.priority,
        alias_forms.requires_type_word,
        alias_forms.is_named_by_position,
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
    left join message_starts
        on message_starts.source_message_key = alias_matches.source_message_key
    where coalesce(place_words.word_kind, '') <> 'street'
        and (
            not alias_matches.requires_type_word
            or alias_matches.is_named_by_position and (
                previous_token.token in ('в', 'во')
                or alias_matches.start_position = message_starts.first_position
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
            when messages.author_kind = 'community' and relayed_messages.source_message_key is null
                then 'not_about_authorities'
            {%- endif %}
            when coalesce(marker_hits.out_of_scope_score, 0) > 0
                and marker_hits.out_of_scope_score >= coalesce(best_categories.category_score, 0)
                then 'out_of_scope'
            when best_categories.category_code is null
                or coalesce(marker_hits.not_about_authorities_hits, 0) > 0 and complaints.source_message_key is null
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
    left join relayed_messages
        on relayed_messages.source_message_key = messages.source_message_key
    left join complaints
        on complaints.source_message_key = messages.source_message_key
),

-- duplicates: among would-be incidents, the same author's near-identical text within the window of an
-- earlier copy. One person's accounts in several networks are linked in author_links; without a link,
-- a copy in another network counts only when var cross_network_min_similarity is set and the texts are
-- that similar and at least var cross_network_min_text_length long.

rule_candidates as (
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
        {%- if var('cross_network_min_similarity', none) is none %}
        -- earlier messages of this batch's authors (and of the accounts linked to them) only
        and classified.author_id in (
            select author_id from ruled
            union
            select linked.author_id
            from author_links as linked
            inner join author_links as batch_author
                on batch_author.person_key = linked.person_key
            inner join ruled
                on ruled.platform = batch_author.platform
                and ruled.author_id = batch_author.author_id
        )
        {%- endif %}
        and not exists (select 1 from messages where messages.source_message_key = classified.source_message_key)
    {% endif %}
),

duplicate_candidates as (
    select
        rule_candidates.*,
        coalesce(author_links.person_key, rule_candidates.platform || ':' || rule_candidates.author_id)
            as author_identity
    from rule_candidates
    left join author_links
        on author_links.platform = rule_candidates.platform
        and author_links.author_id = rule_candidates.author_id
),

duplicate_pairs as (
    select
        later.source_message_key,
        earlier.source_message_key  as earlier_message_key,
        earlier.published_at        as earlier_published_at
    from duplicate_candidates as later
    inner join duplicate_candidates as earlier
        on (earlier.published_at, earlier.source_message_key) < (later.published_at, later.source_message_key)
        and earlier.published_at >= later.published_at - interval '{{ var("duplicate_window_hours") }} hours'
        and (
            earlier.author_identity = later.author_identity
            {%- if var('cross_network_min_similarity', none) is not none %}
            or earlier.platform <> later.platform
                and length(later.duplicate_text_key) >= {{ var('cross_network_min_text_length') }}
                and similarity(earlier.duplicate_text_key, later.duplicate_text_key)
                    >= {{ var('cross_network_min_similarity') }}
            {%- endif %}
        )
    where similarity(earlier.duplicate_text_key, later.duplicate_text_key) >= {{ var('duplicate_min_similarity') }}
),

duplicates as (
    select distinct on (source_message_key)
        source_message_key,
        earlier_message_key as duplicate_of_message_key
    from duplicate_pairs
    order by source_message_key, earlier_published_at, earlier_message_key
),

-- the rules' verdict, then the human corrections (classification_overrides), which win

rule_verdicts as (
    select
        ruled.*,
        ruled.rule_reason is null and duplicates.source_message_key is null         as rule_is_incident,
        coalesce(ruled.rule_reason, case when duplicates.source_message_key is not null then 'duplicate' end)
                                                                                    as rule_non_incident_reason,
        duplicates.duplicate_of_message_key
    from ruled
    left join duplicates
        on duplicates.source_message_key = ruled.source_message_key
),

verdicts as (
    select
        rule_verdicts.*,
        classification_overrides.source_message_key is not null                     as is_overridden,
        classification_overrides.override_by,
        classification_overrides.override_reason,
        coalesce(classification_overrides.is_incident, rule_verdicts.rule_is_incident) as final_is_incident,
        coalesce(classification_overrides.category_code, rule_verdicts.category_code)  as final_category_code,
        classification_overrides.responsible_body_code                              as override_body_code,
        classification_overrides.municipality_code                                  as override_municipality_code,
        classification_overrides.importance                                         as override_importance,
        classification_overrides.non_incident_reason                                as override_non_incident_reason
    from rule_verdicts
    left join classification_overrides
        on classification_overrides.source_message_key = rule_verdicts.source_message_key
),

final as (
    select
        verdicts.source_message_key,
        verdicts.platform,
        verdicts.message_kind,
        verdicts.author_id,
        verdicts.author_kind,
        verdicts.author_is_official,
        verdicts.account_key,
        verdicts.account_body_code,
        verdicts.community_key,
        verdicts.community_municipality_code,
        verdicts.thread_root_key,
        verdicts.parent_message_key,
        verdicts.reply_thread_key,
        verdicts.published_at,
        verdicts.detected_at,
        verdicts.loaded_at,
        verdicts.unioned_at,
        verdicts.message_text,
        verdicts.message_url,
        verdicts.final_is_incident                                                  as is_incident,
        case
            when not verdicts.final_is_incident
                then coalesce(verdicts.override_non_incident_reason, verdicts.rule_non_incident_reason)
        end                                                                         as non_incident_reason,
        verdicts.final_category_code                                                as category_code,
        case
            when verdicts.final_is_incident
                then coalesce(
                    verdicts.override_body_code, verdicts.named_body_code, final_categories.default_body_code
                )
        end                                                                         as responsible_body_code,
        verdicts.named_body_code,
        coalesce(verdicts.override_municipality_code, verdicts.municipality_code)   as municipality_code,
        case
            when verdicts.override_municipality_code is not null then 'override'
            else verdicts.municipality_source
        end                                                                         as municipality_source,
        case
            when verdicts.final_is_incident
                then coalesce(
                    verdicts.override_importance,
                    case when verdicts.is_high_importance then 'high' else 'normal' end
                )
        end                                                                         as importance,
        case when not verdicts.final_is_incident then verdicts.duplicate_of_message_key end
                                                                                    as duplicate_of_message_key,
        verdicts.duplicate_text_key,
        verdicts.is_overridden,
        verdicts.override_by,
        verdicts.override_reason,
        '{{ var("rule_version") }}'::text                                           as rule_version,
        {{ run_started_at_sql() }}                                                  as classified_at
    from verdicts
    left join categories as final_categories
        on final_categories.code = verdicts.final_category_code
)

select * from final
