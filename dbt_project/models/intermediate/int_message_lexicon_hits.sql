{{
    config(
        tags=["classifier"],
        materialized='incremental',
        unique_key='source_message_key',
        incremental_strategy='delete_insert_planned',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['source_message_key']},
            {'columns': ['unioned_at']},
            {'columns': ['rule_version']},
        ],
        pre_hook=[
            "set local work_mem = '256MB'",
            "{{ join_methods_of_whole_batches('off') }}",
            "set local jit = off",
            "set local max_parallel_workers_per_gather = 0",
        ],
    )
}}

{#- What the lexicons of seeds/rules find in each message's words (int_message_tokens), for
    int_messages_classified: the category keywords' scores, the non-incident, complaint, relayed and
    importance markers, and the krai body the text names first. One row per message, also when nothing is
    found (so that a message re-split with no hit replaces its old row). Its own model, not a part of
    int_messages_classified's query, so that dbt's second thread runs it beside int_message_municipalities
    and the learned scores, which read only int_message_tokens too.
    The words are unnested in select lists (a ProjectSet; generate_series numbers them in step), not by lateral
    joins: 17M words at 1M messages in 1.1 s instead of 1.9 s. A select list's unnest lets the planner read the
    messages in parallel workers, which here would ship every word with its message's texts and arrays to the
    leader, and take the core that dbt's second thread uses: no parallel workers.
    An incremental run reads the messages int_message_tokens (re)split since its watermark (unioned_at), all
    of them when some row has another rule_version. The planner switches are those of int_messages_classified's
    incremental runs (same CTEs, same misestimates), in a full build too: here merges and sorts are slower
    (76 s with both, 69 s with sorts, 58 s with neither at 1M messages); its strategy deletes the batch's old
    rows with the planner's defaults. -#}

{%- set rule_version = rule_version() %}

with

lexicon_terms as (
    select * from {{ ref('int_lexicon_terms') }}
),

tokens as not materialized (
    select * from {{ ref('int_message_tokens') }}
),

-- the batch's texts and words, normalised and split once by int_message_tokens: lower-cased (ё -> е); without
-- VK mention markup ("[club200002|Министерство транспорта и дорожного ...], спасибо" names a body, kept for
-- bodies, but is no keyword of a category)
message_tokens as not materialized (
    select
        batch.source_message_key,
        batch.unioned_at,
        batch.normalized_text,
        coalesce(batch.content_text, batch.normalized_text)                     as content_text,
        batch.words,
        coalesce(batch.content_words, batch.words)                              as content_words,
        batch.markup_words,
        -- every word the lexicons are looked up by: the content's, then the mentions' (numbered in this order)
        coalesce(batch.content_words, batch.words) || coalesce(batch.markup_words, '{}')
                                                                                as all_words
    from tokens as batch
    {% if is_incremental() %}
    {%- if not holds_other_rule_version(rule_version) %}
    -- (re)split by int_message_tokens since this model's last run
    where batch.unioned_at > {{ processed_since('unioned_at') }}
    {%- endif %}
    {% endif %}
),

-- the lexicons, compiled by int_lexicon_terms: phrases, and regular expressions with their anchors

lexicon_patterns as (
    select distinct pattern_id, lexicon, code, weight from lexicon_terms
),

phrase_pieces as (
    select phrase_id, word_number, word_count, literal, is_prefix, is_sought_by, pattern_id, reads_whole_text
    from lexicon_terms
    where term_kind = 'phrase'
),

regex_alternatives as (
    select alternative_id, pattern_id, regex_id, reads_whole_text, anchor, anchor_is_word, required_text
    from lexicon_terms
    where term_kind = 'regex'
),

regexes as (
    select distinct regex_id, pattern_id, regex, reads_whole_text
    from lexicon_terms
    where term_kind = 'regex'
),

-- the alternatives without an anchor (a handful), as arrays: the batch's texts are read once for all of them,
-- not once for each
anchorless_alternatives as (
    select
        array_agg(regex_id order by alternative_id)             as regex_ids,
        array_agg(required_text order by alternative_id)        as required_texts,
        array_agg(reads_whole_text order by alternative_id)     as reads_whole_texts
    from regex_alternatives
    where anchor is null
),

-- the batch's vocabulary (its distinct words, hundreds of thousands for a million messages) meets the
-- phrases' words and the regular expressions' anchors once, by hash joins of the word and of its prefixes

vocabulary as materialized (
    select words.word
    from (
        select unnest(message_tokens.all_words) as word
        from message_tokens
    ) as words
    group by words.word
),

prefix_lengths as (
    select distinct length(literal) as prefix_length from phrase_pieces where is_prefix and is_sought_by
    union
    select distinct length(anchor) from regex_alternatives where not anchor_is_word and length(anchor) >= 2
),

vocabulary_prefixes as materialized (
    select vocabulary.word, left(vocabulary.word, prefix_lengths.prefix_length) as prefix
    from vocabulary
    inner join prefix_lengths
        on prefix_lengths.prefix_length <= length(vocabulary.word)
),

-- a phrase is sought by its rarest word; the others, at their offsets from it, are checked where it is
sought_phrases as (
    select
        sought.phrase_id,
        sought.literal,
        sought.is_prefix,
        sought.word_number,
        sought.word_count,
        sought.pattern_id,
        sought.reads_whole_text,
        coalesce(array_agg(others.word_number - sought.word_number order by others.word_number)
            filter (where others.phrase_id is not null), '{}')                  as other_offsets,
        coalesce(array_agg(others.literal order by others.word_number)
            filter (where others.phrase_id is not null), '{}')                  as other_literals,
        coalesce(array_agg(others.is_prefix order by others.word_number)
            filter (where others.phrase_id is not null), '{}')                  as other_is_prefix
    from phrase_pieces as sought
    left join phrase_pieces as others
        on others.phrase_id = sought.phrase_id
        and not others.is_sought_by
    where sought.is_sought_by
    group by
        sought.phrase_id, sought.literal, sought.is_prefix, sought.word_number, sought.word_count,
        sought.pattern_id, sought.reads_whole_text
),

-- the words of the batch that start a phrase or are a regular expression's anchor
vocabulary_terms as materialized (
    select
        vocabulary.word, sought_phrases.phrase_id, sought_phrases.word_number, sought_phrases.word_count,
        sought_phrases.other_offsets, sought_phrases.other_literals, sought_phrases.other_is_prefix,
        sought_phrases.pattern_id, null::bigint as regex_id, null::text as required_text, sought_phrases.reads_whole_text
    from vocabulary
    inner join sought_phrases
        on sought_phrases.literal = vocabulary.word
        and not sought_phrases.is_prefix
    union all
    select
        vocabulary_prefixes.word, sought_phrases.phrase_id, sought_phrases.word_number, sought_phrases.word_count,
        sought_phrases.other_offsets, sought_phrases.other_literals, sought_phrases.other_is_prefix,
        sought_phrases.pattern_id, null, null, sought_phrases.reads_whole_text
    from vocabulary_prefixes
    inner join sought_phrases
        on sought_phrases.literal = vocabulary_prefixes.prefix
        and sought_phrases.is_prefix
    union all
    select
        anchored.word, null, null, null, null, null, null, null, anchored.regex_id, anchored.required_text,
        anchored.reads_whole_text
    from (
        select vocabulary.word, regex_alternatives.regex_id, regex_alternatives.required_text, regex_alternatives.reads_whole_text
        from vocabulary
        inner join regex_alternatives
            on regex_alternatives.anchor = vocabulary.word
        union
        select vocabulary_prefixes.word, regex_alternatives.regex_id, regex_alternatives.required_text, regex_alternatives.reads_whole_text
        from vocabulary_prefixes
        inner join regex_alternatives
            on regex_alternatives.anchor = vocabulary_prefixes.prefix
            and not regex_alternatives.anchor_is_word
            and length(vocabulary_prefixes.prefix) >= 2
    ) as anchored
),

-- each message's words that meet a term (a hash join with the small table above): the phrases found there,
-- their other words checked in the message's own word array, and the regular expressions to try. Words of
-- VK mention markup are numbered below zero: they name bodies and relay messages, but are no keywords.
word_hits as materialized (
    select
        numbered.source_message_key,
        vocabulary_terms.pattern_id,
        vocabulary_terms.regex_id,
        -- a regular expression's alternative is worth trying only where its required text is
        vocabulary_terms.required_text is null
            or strpos(
                case when vocabulary_terms.reads_whole_text then numbered.normalized_text else numbered.content_text end,
                vocabulary_terms.required_text
            ) > 0                                                                   as is_worth_trying,
        words.word_position - coalesce(vocabulary_terms.word_number, 1) + 1        as start_position,
        words.word_position - coalesce(vocabulary_terms.word_number, 1) + vocabulary_terms.word_count
                                                                                    as end_position
    from (
        select
            message_tokens.*,
            unnest(message_tokens.all_words)                            as word,
            generate_series(1, cardinality(message_tokens.all_words))   as word_number
        from message_tokens
    ) as numbered
    cross join lateral (
        select
            numbered.word,
            numbered.word_number > cardinality(numbered.content_words)           as is_markup,
            case
                when numbered.word_number > cardinality(numbered.content_words)
                    then numbered.word_number - cardinality(numbered.content_words)
                else numbered.word_number
            end::int                                                                    as array_index
    ) as word_places
    cross join lateral (
        select
            word_places.*,
            case when word_places.is_markup then word_places.array_index - 1000000000 else word_places.array_index end
                                                                                        as word_position
    ) as words
    inner join vocabulary_terms
        on vocabulary_terms.word = words.word
    where (vocabulary_terms.reads_whole_text or not words.is_markup)
        and (
            vocabulary_terms.word_count is null
            or vocabulary_terms.word_count = 1
            -- the phrase's other words, at their offsets in the same array
            or (
                {%- for other in range(1, 5) %}
                {%- set other_word -%}
                (case when words.is_markup then numbered.markup_words else numbered.content_words end)[
                    words.array_index + vocabulary_terms.other_offsets[{{ other }}]]
                {%- endset %}
                (
                    cardinality(vocabulary_terms.other_offsets) < {{ other }}
                    or case
                        when vocabulary_terms.other_is_prefix[{{ other }}]
                            then {{ other_word }} ^@ vocabulary_terms.other_literals[{{ other }}]
                        else {{ other_word }} = vocabulary_terms.other_literals[{{ other }}]
                    end
                )
                and
                {%- endfor %}
                (
                    cardinality(vocabulary_terms.other_offsets) < 5
                    or (
                        select bool_and(coalesce(
                            case
                                when others.is_prefix then at_offset.other_word ^@ others.literal
                                else at_offset.other_word = others.literal
                            end,
                            false
                        ))
                        from unnest(vocabulary_terms.other_offsets, vocabulary_terms.other_literals, vocabulary_terms.other_is_prefix)
                            with ordinality as others (word_offset, literal, is_prefix, other_number)
                        cross join lateral (
                            select (case when words.is_markup then numbered.markup_words else numbered.content_words end)[
                                words.array_index + others.word_offset] as other_word
                        ) as at_offset
                        where others.other_number >= 5
                    )
                )
            )
        )
),

-- a pattern's hits: its phrases found, each counted once where found phrases overlap (as regexp_count
-- counts "детской площадке" once for "\mдетск[а-я]* площадк|\mплощадк")
found_phrases as materialized (
    select source_message_key, pattern_id, start_position, max(end_position) as end_position
    from word_hits
    where regex_id is null
    group by source_message_key, pattern_id, start_position
),

overlapped_phrases as (
    select later.source_message_key, later.pattern_id, later.start_position
    from found_phrases as earlier
    inner join found_phrases as later
        on later.source_message_key = earlier.source_message_key
        and later.pattern_id = earlier.pattern_id
        and later.start_position > earlier.start_position
        and later.start_position <= earlier.end_position
    where earlier.end_position > earlier.start_position
    group by later.source_message_key, later.pattern_id, later.start_position
),

-- each found phrase, counted unless it overlaps an earlier one; summed per pattern with the regular
-- expressions' counts in pattern_hits (one aggregate of both kinds). Both counts are bigint, as the count(*)
-- they replace was, so that their sum (pattern_hits.hit_count) stays numeric and the output's types unchanged
phrase_hits as (
    select
        found_phrases.source_message_key,
        found_phrases.pattern_id,
        (overlapped_phrases.start_position is null)::int::bigint            as hit_count,
        found_phrases.start_position                                        as first_word_position
    from found_phrases
    left join overlapped_phrases
        on overlapped_phrases.source_message_key = found_phrases.source_message_key
        and overlapped_phrases.pattern_id = found_phrases.pattern_id
        and overlapped_phrases.start_position = found_phrases.start_position
),

-- the regular expressions each message may match: those with an anchor that starts one of its words, and
-- those without one whose required text (a literal every match holds: "*", "/", "этажк") is in it; an
-- anchored one is tried only when the text also holds one of its alternatives' required texts
-- (is_worth_trying, checked where the anchor was found)
regex_candidates as (
    select
        source_message_key,
        regex_id,
        min(first_word_position)                                            as first_word_position
    from (
        select source_message_key, regex_id, is_worth_trying, start_position as first_word_position
        from word_hits
        where regex_id is not null
        union all
        select message_tokens.source_message_key, anchorless.regex_id, true, 1
        from message_tokens
        cross join anchorless_alternatives
        cross join lateral unnest(
            anchorless_alternatives.regex_ids, anchorless_alternatives.required_texts, anchorless_alternatives.reads_whole_texts
        ) as anchorless (regex_id, required_text, reads_whole_text)
        where anchorless.required_text is null
            or strpos(
                case when anchorless.reads_whole_text then message_tokens.normalized_text else message_tokens.content_text end,
                anchorless.required_text
            ) > 0
    ) as found
    group by source_message_key, regex_id
    having bool_or(is_worth_trying)
),

-- the regular expressions, tried on their candidates in order (each is compiled once: Postgres keeps 32
-- compiled, and there are about a hundred): the narrow candidates are sorted, and the regular expressions and
-- the texts joined to them after the sort, in the same order (hashes of the regexes and of the batch's
-- texts). With each regex's text in the sorted rows, the sort of 2.2 M candidates at 1M messages wrote 424 MB
-- to disk. An incremental run sorts its few candidates again with their texts: at 10.5 million messages of
-- history the planner hashed the sorted candidates instead of the texts and tried them in the texts' order,
-- compiling a regex for most calls (the hour's regexes 2 s slower than at 1 million, bench/incremental_cost.py).
regex_hits as (
    select source_message_key, pattern_id, hit_count, first_word_position
    from (
        select
            tried.source_message_key,
            tried.pattern_id,
            regexp_count(tried.searched_text, tried.regex)::bigint as hit_count,
            tried.first_word_position
        from (
            select
                candidates.source_message_key,
                regexes.pattern_id,
                regexes.regex,
                case when regexes.reads_whole_text then message_tokens.normalized_text else message_tokens.content_text end
                                                    as searched_text,
                candidates.first_word_position
            from (
                select source_message_key, regex_id, first_word_position
                from regex_candidates
                order by regex_id
                offset 0  -- the sort stays below the regular expressions
            ) as candidates
            inner join regexes
                on regexes.regex_id = candidates.regex_id
            inner join message_tokens
                on message_tokens.source_message_key = candidates.source_message_key
            {%- if is_incremental() %}
            order by candidates.regex_id
            {%- endif %}
            offset 0
        ) as tried
        offset 0  -- each count computed once: the filter below would otherwise be a second regexp_count
    ) as counted
    where hit_count > 0
),

-- each pattern's hits in each message, by phrases and regular expressions together (a few patterns have both)
pattern_hits as materialized (
    select
        hits.source_message_key,
        lexicon_patterns.lexicon,
        lexicon_patterns.code,
        lexicon_patterns.weight,
        hits.hit_count,
        hits.first_word_position
    from (
        select source_message_key, pattern_id, sum(hit_count) as hit_count, min(first_word_position) as first_word_position
        from (
            select source_message_key, pattern_id, hit_count, first_word_position from phrase_hits
            union all
            select source_message_key, pattern_id, hit_count, first_word_position from regex_hits
        ) as both_kinds
        group by source_message_key, pattern_id
    ) as hits
    inner join lexicon_patterns
        on lexicon_patterns.pattern_id = hits.pattern_id
),

-- category: the score of each (keyword hits times their weights)
category_scores as (
    select
        source_message_key,
        code                            as category_code,
        sum(weight * hit_count)         as score,
        min(first_word_position)        as first_hit_position
    from pattern_hits
    where lexicon = 'category'
    group by source_message_key, code
),

message_markers as (
    select
        source_message_key,
        count(*) filter (where lexicon = 'marker' and code = 'advertising_spam')       as advertising_hits,
        count(*) filter (where lexicon = 'marker' and code = 'abusive')                as abusive_hits,
        sum(weight * hit_count) filter (where lexicon = 'marker' and code = 'out_of_scope')
                                                                                        as out_of_scope_score,
        count(*) filter (where lexicon = 'marker' and code = 'not_about_authorities')  as not_about_authorities_hits,
        -- reports a problem or asks for action ("куда жаловаться", "третий день нет воды")
        bool_or(lexicon = 'complaint')                                                  as is_complaint,
        -- relays a citizen's message ("📩 Пишет подписчик: ...")
        bool_or(lexicon = 'relayed')                                                    as is_relayed,
        bool_or(lexicon = 'importance')                                                 as is_high_importance
    from pattern_hits
    where lexicon in ('marker', 'complaint', 'relayed', 'importance')
    group by source_message_key
),

-- a krai body named in the text: the first one named
named_bodies as (
    select distinct on (source_message_key)
        source_message_key,
        code                            as body_code
    from pattern_hits
    where lexicon = 'body'
    order by source_message_key, first_word_position, code
),

-- each category's score and first hit, as three arrays in the order of the categories' codes
message_categories as (
    select
        source_message_key,
        array_agg(category_code order by category_code)             as category_codes,
        array_agg(score order by category_code)                     as category_scores,
        array_agg(first_hit_position order by category_code)        as category_first_positions
    from category_scores
    group by source_message_key
),

final as (
    select
        message_tokens.source_message_key,
        message_tokens.unioned_at,
        message_categories.category_codes,
        message_categories.category_scores,
        message_categories.category_first_positions,
        message_markers.advertising_hits,
        message_markers.abusive_hits,
        message_markers.out_of_scope_score,
        message_markers.not_about_authorities_hits,
        message_markers.is_complaint,
        message_markers.is_relayed,
        message_markers.is_high_importance,
        named_bodies.body_code                                      as named_body_code,
        '{{ rule_version }}'::text                                  as rule_version
    from message_tokens
    left join message_categories
        on message_categories.source_message_key = message_tokens.source_message_key
    left join message_markers
        on message_markers.source_message_key = message_tokens.source_message_key
    left join named_bodies
        on named_bodies.source_message_key = message_tokens.source_message_key
)

select * from final
