{{
    config(
        tags=["classifier"],
        materialized='table',
        post_hook=["analyze {{ this }}"],
    )
}}

{#- The lexicons in seeds/rules (category keywords, non-incident markers, bodies, complaint, relayed and
    importance markers), compiled once per build for int_messages_classified: one row per term.
    - A phrase term (term_kind 'phrase'): one word of one phrase that a top-level alternative of a pattern
      spells out ("\mнет (холодной |горячей )?вод[ыа]\M" -> нет воды, нет вода, нет холодной воды, ...),
      a literal that is a whole word or a word start. The classification finds a phrase by its longest
      word (is_sought_by) through a hash join with the messages' words, and looks its other words up at
      their places: no regular expression.
    - A regex term (term_kind 'regex'): an alternative that needs a regular expression (look-arounds,
      digits, hyphens, repetitions), with its anchors: word starts, one of which every text it matches has
      (its first literal word, or the words of a group in it).
      The regular expression (regex) is the alternative alone, or its whole pattern when the pattern's hits
      are counted (category keywords, out-of-scope markers), so that the count is regexp_count's.
    Analysts keep editing the seeds' regular expressions; this model only reads them. -#}

with recursive

category_keywords as (
    select * from {{ ref('category_keywords') }}
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

-- the lexicons' patterns, each seed row one pattern: categories, markers and complaints are sought in the
-- text without VK mention markup, bodies and relayed messages in the whole text

lexicon_patterns as (
    select
        row_number() over (order by lexicon, code, weight, pattern)   as pattern_id,
        lexicon,
        code,
        weight,
        pattern,
        lexicon in ('body', 'relayed')                                 as reads_whole_text
    from (
        select 'category' as lexicon, category_code as code, weight, pattern from category_keywords
        union all
        select 'marker', reason_code, weight, pattern from non_incident_markers
        union all
        select 'body', body_code, 1, pattern from body_aliases
        union all
        select 'complaint', null, 1, pattern from complaint_markers
        union all
        select 'relayed', null, 1, pattern from relayed_message_markers
        union all
        select 'importance', importance, 1, pattern from importance_markers where importance = 'high'
    ) as patterns
),

-- each pattern's top-level alternatives: the pattern cut at each | outside the groups. A bracket, a | or a
-- parenthesis inside a letter class ("\+7[ (-]*9", the phone numbers) or escaped opens or closes no group
-- and cuts nothing: they are masked (#, same length) where the depth and the cuts are read
masked_patterns as (
    select
        pattern_id,
        regexp_replace(regexp_replace(regexp_replace(regexp_replace(
            pattern,
            '\\[()|]', '\\#', 'g'),
            '(\[[^]()|]*)[()|]([^]]*\])', '\1#\2', 'g'),
            '(\[[^]()|]*)[()|]([^]]*\])', '\1#\2', 'g'),
            '(\[[^]()|]*)[()|]([^]]*\])', '\1#\2', 'g')                      as masked
    from lexicon_patterns
),

pattern_characters as (
    select
        lexicon_patterns.pattern_id,
        characters.position,
        substr(lexicon_patterns.pattern, characters.position::int, 1)              as character,
        characters.character = '|'                                                 as is_bar,
        sum(case characters.character when '(' then 1 when ')' then -1 else 0 end)
            over (partition by lexicon_patterns.pattern_id order by characters.position)   as depth
    from lexicon_patterns
    inner join masked_patterns
        on masked_patterns.pattern_id = lexicon_patterns.pattern_id
    cross join lateral string_to_table(masked_patterns.masked, null) with ordinality as characters (character, position)
),

lexicon_alternatives as (
    select
        row_number() over (order by split.pattern_id, split.alternative_number)   as alternative_id,
        split.pattern_id,
        split.alternative,
        lexicon_patterns.reads_whole_text
    from (
        select
            pattern_id,
            alternative_number,
            string_agg(character, '' order by position) filter (where not is_cut)  as alternative
        from (
            select
                pattern_id,
                position,
                character,
                is_bar and depth = 0                                                as is_cut,
                count(*) filter (where is_bar and depth = 0)
                    over (partition by pattern_id order by position)                as alternative_number
            from pattern_characters
        ) as characters
        group by pattern_id, alternative_number
    ) as split
    inner join lexicon_patterns
        on lexicon_patterns.pattern_id = split.pattern_id
),

-- an alternative made only of words, groups of words and letter classes ("\mнет (холодной |горячей )?вод[ыа]\M")
-- is spelled out into the phrases it matches, one group at a time; lookarounds, digits, hyphens,
-- repetitions and the like keep their regular expression
phrase_spellings (alternative_id, spelling) as (
    select alternative_id, alternative
    from lexicon_alternatives
    where alternative ~ '^\\m'
        and alternative !~ '\(\?'
        and regexp_replace(alternative, '^\\m|\\M$|\[а-я\]\*|\[[а-яa-z]+\]\??|\)\?', '', 'g') ~ '^[а-яa-z0-9 ()|]+$'
    union all
    select
        phrase_spellings.alternative_id,
        left(phrase_spellings.spelling, first_group.start - 1)
            || choices.choice
            || substr(phrase_spellings.spelling, first_group.start + length(first_group.matched))
    from phrase_spellings
    cross join lateral (
        select
            regexp_instr(phrase_spellings.spelling, '\([^()]*\)\??|\[[а-яa-z]+\]\??')          as start,
            substring(phrase_spellings.spelling from '\([^()]*\)\??|\[[а-яa-z]+\]\??')         as matched
    ) as first_group
    cross join lateral unnest(
        case
            when left(first_group.matched, 1) = '('
                then string_to_array(regexp_replace(first_group.matched, '^\(|\)\??$', '', 'g'), '|')
            else string_to_array(regexp_replace(first_group.matched, '^\[|\]\??$', '', 'g'), null)
        end
        || case when right(first_group.matched, 1) = '?' then array[''] else array[]::text[] end
    ) as choices (choice)
    where first_group.start > 0
),

-- the phrases' words: a literal that is a whole word, or a word start (followed by [а-я]*, or last and
-- without \M)
phrase_words as (
    select
        phrases.alternative_id,
        phrases.phrase_id,
        words.word_number,
        count(*) over (partition by phrases.phrase_id)                      as word_count,
        substring(words.piece from '^[а-яa-z0-9]+')                         as literal,
        words.piece ~ '^[а-яa-z0-9]+(\[а-я\]\*)?(\\M)?$'                     as is_valid,
        words.piece ~ '\[а-я\]\*'
            or words.word_number = words_in_phrase.word_total
                and words.piece !~ '\\M$' and phrases.spelling !~ ' $'      as is_prefix
    from (
        select
            alternative_id,
            spelling,
            row_number() over (order by alternative_id, spelling)           as phrase_id
        from phrase_spellings
        where regexp_replace(spelling, '\[а-я\]\*', '', 'g') !~ '[(\[]'
        group by alternative_id, spelling
    ) as phrases
    cross join lateral regexp_split_to_table(trim(substr(phrases.spelling, 3)), ' +')
        with ordinality as words (piece, word_number)
    cross join lateral (
        select cardinality(regexp_split_to_array(trim(substr(phrases.spelling, 3)), ' +')) as word_total
    ) as words_in_phrase
),

-- the alternatives matched as phrases (every spelling valid), and the ones left to regular expressions. A
-- keyword or out-of-scope pattern whose hits are counted stays one regular expression when any of its
-- alternatives needs one, so that its count is regexp_count's
alternative_kinds as (
    select
        lexicon_alternatives.alternative_id,
        lexicon_alternatives.pattern_id,
        coalesce(phrases.is_phrase, false) and not coalesce(whole_patterns.is_whole, false)    as is_phrase,
        coalesce(whole_patterns.is_whole, false)                                            as is_in_whole_pattern
    from lexicon_alternatives
    left join (
        select alternative_id, bool_and(is_valid) as is_phrase
        from phrase_words
        group by alternative_id
    ) as phrases
        on phrases.alternative_id = lexicon_alternatives.alternative_id
    left join (
        select lexicon_alternatives.pattern_id, true as is_whole
        from lexicon_alternatives
        inner join lexicon_patterns
            on lexicon_patterns.pattern_id = lexicon_alternatives.pattern_id
        left join (
            select alternative_id, bool_and(is_valid) as is_phrase from phrase_words group by alternative_id
        ) as valid
            on valid.alternative_id = lexicon_alternatives.alternative_id
        where (lexicon_patterns.lexicon = 'category' or lexicon_patterns.code = 'out_of_scope')
        group by lexicon_alternatives.pattern_id
        having count(distinct lexicon_alternatives.alternative_id) > 1
            and not bool_and(coalesce(valid.is_phrase, false))
    ) as whole_patterns
        on whole_patterns.pattern_id = lexicon_alternatives.pattern_id
),

phrase_pieces as (
    select
        phrase_words.phrase_id,
        phrase_words.word_number,
        phrase_words.word_count,
        phrase_words.literal,
        phrase_words.is_prefix,
        -- the word a phrase is sought by: its longest literal, the rarest ("не работает" by работает)
        row_number() over (
            partition by phrase_words.phrase_id order by length(phrase_words.literal) desc, phrase_words.word_number
        ) = 1                                                               as is_sought_by,
        lexicon_alternatives.pattern_id,
        lexicon_alternatives.reads_whole_text
    from phrase_words
    inner join alternative_kinds
        on alternative_kinds.alternative_id = phrase_words.alternative_id
    inner join lexicon_alternatives
        on lexicon_alternatives.alternative_id = phrase_words.alternative_id
    where alternative_kinds.is_phrase
),

-- the regular expressions: an alternative alone, or its whole pattern
regex_alternatives as (
    select
        lexicon_alternatives.alternative_id,
        lexicon_alternatives.pattern_id,
        lexicon_alternatives.alternative,
        case
            when alternative_kinds.is_in_whole_pattern then -lexicon_alternatives.pattern_id
            else lexicon_alternatives.alternative_id
        end                                                                 as regex_id,
        case
            when alternative_kinds.is_in_whole_pattern then lexicon_patterns.pattern
            else lexicon_alternatives.alternative
        end                                                                 as regex,
        lexicon_alternatives.reads_whole_text
    from lexicon_alternatives
    inner join alternative_kinds
        on alternative_kinds.alternative_id = lexicon_alternatives.alternative_id
    inner join lexicon_patterns
        on lexicon_patterns.pattern_id = lexicon_alternatives.pattern_id
    where not alternative_kinds.is_phrase
),

-- each regex alternative's anchor: a word start that every text it matches has. Groups and classes
-- become a placeholder (§), and it gives the literal letters after its \m (or after a space, when it
-- starts with a group): "\mминистерств[а-я]* [а-я ]{0,40}(россии|рф)" -> министерств. An alternative
-- without one (\m[а-я]+\*+) is tried on every message.
regex_skeletons as (
    select
        alternative_id,
        regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
            alternative, '\\[^mM]', '§', 'g'),
            '\[[^]]*\]', '§', 'g'),
            '\([^()]*\)', '§', 'g'), '\([^()]*\)', '§', 'g'), '\([^()]*\)', '§', 'g'), '\([^()]*\)', '§', 'g')
                                                                        as skeleton
    from regex_alternatives
),

regex_literal_anchors as (
    select
        alternative_id,
        -- a literal followed by a space or \M is a whole word ("\mнет света" needs the word нет)
        coalesce(word_start_anchor, word_start_prefix, later_word_anchor, later_word_prefix)
                                                                            as anchor,
        word_start_anchor is not null or word_start_prefix is null and later_word_anchor is not null
                                                                            as anchor_is_word
    from (
        select
            alternative_id,
            substring(skeleton from '^(?:\\m|#)([а-яa-z0-9]{2,})(?:\\M| (?![?*{]))')  as word_start_anchor,
            substring(skeleton from '^(?:\\m|#)([а-яa-z0-9]{2,})(?![?*{])')           as word_start_prefix,
            substring(skeleton from ' ([а-яa-z0-9]{2,})(?:\\M| (?![?*{]))')           as later_word_anchor,
            substring(skeleton from ' ([а-яa-z0-9]{2,})(?![?*{])')                    as later_word_prefix
        from regex_skeletons
    ) as literals
),

-- an alternative is also anchored by a group of words in it ("\m(новую|новый|новой|новое) (школ|...)",
-- "\mв (группе|канале|паблике) ...", "\mкакой [а-я]+ (взять|выбрать)"): by each of the group's words, one row
-- per word, when every text it matches has one of them: the group stands outside any other group, is not
-- made optional, and its words start words (after \m or a space). Groups with a word of one letter give
-- none. Escapes and letter classes are left out first: "[ (-]" and "\(" are no groups.
regex_groups as (
    select
        regex_alternatives.alternative_id,
        occurrences.occurrence,
        found.choices,
        (select min(length(choice)) from unnest(found.choices) as every (choice))    as shortest_choice_length,
        left(outside.text, regexp_instr(outside.text, outside.group_pattern, 1, occurrences.occurrence) - 1)
                                                                            as text_before,
        substr(outside.text, regexp_instr(outside.text, outside.group_pattern, 1, occurrences.occurrence, 1), 2)
                                                                            as text_after
    from regex_alternatives
    cross join lateral (
        select
            regexp_replace(regexp_replace(regex_alternatives.alternative, '\\[^mM]', '§', 'g'), '\[[^]]*\]', '§', 'g')
                                                                            as text,
            '(?:\\m| )\(([а-яa-z0-9]+(?:\|[а-яa-z0-9]+)+)\)(?![?*+{])'     as group_pattern
    ) as outside
    cross join lateral generate_series(1, regexp_count(outside.text, outside.group_pattern)) as occurrences (occurrence)
    cross join lateral (
        select string_to_array(regexp_substr(outside.text, outside.group_pattern, 1, occurrences.occurrence, '', 1), '|')
            as choices
    ) as found
),

-- of its literal anchor and its groups, an alternative is anchored by the one whose shortest word is the
-- longest, a group on a tie: the longer word is the rarer ("\mкак (людям|нам|детям) ..." was tried on
-- every message with the word как; the required text, "как ", still narrows them)
regex_group_anchors as (
    select
        best_groups.alternative_id,
        choices.choice                                                      as anchor,
        best_groups.text_after ~ '^( |\\M)'                                as anchor_is_word
    from (
        select distinct on (regex_groups.alternative_id)
            regex_groups.alternative_id,
            regex_groups.choices,
            regex_groups.text_after
        from regex_groups
        inner join regex_literal_anchors
            on regex_literal_anchors.alternative_id = regex_groups.alternative_id
        -- outside any other group: as many parentheses opened before it as closed
        where length(replace(regex_groups.text_before, '(', '')) = length(replace(regex_groups.text_before, ')', ''))
            and greatest(2, length(regex_literal_anchors.anchor)) <= regex_groups.shortest_choice_length
        order by regex_groups.alternative_id, regex_groups.shortest_choice_length desc, regex_groups.occurrence
    ) as best_groups
    cross join lateral unnest(best_groups.choices) as choices (choice)
),

regex_anchors as (
    select alternative_id, anchor, anchor_is_word
    from regex_literal_anchors
    where not exists (
        select 1 from regex_group_anchors where regex_group_anchors.alternative_id = regex_literal_anchors.alternative_id
    )
    union all
    select alternative_id, anchor, anchor_is_word
    from regex_group_anchors
),

-- each regex alternative's required text: the longest literal every text it matches holds, outside groups
-- and letter classes and not made optional ("\m[а-я]+\*+[а-я]*" -> "*", "[0-9]+ ?(руб|р)/(м2|сутки|час)" ->
-- "/"). An alternative without an anchor is tried only on the messages that hold it. None for an
-- alternative with look-arounds or escaped brackets, or groups nested deeper than four.
regex_atoms as (
    select
        regex_alternatives.alternative_id,
        atoms.atom_number,
        atoms.parts[1] = '§'
            or atoms.parts[1] ~ '^\\[a-zA-Z]'
            or atoms.parts[1] in ('.', '^', '$')
            or coalesce(atoms.parts[2], '') ~ '^[?*{]'                        as is_break,
        case when atoms.parts[1] ~ '^\\' then substr(atoms.parts[1], 2) else atoms.parts[1] end
                                                                            as literal
    from regex_alternatives
    cross join lateral (
        -- letter classes first: a parenthesis in a class ("[ (-]") is no group
        select regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
            regex_alternatives.alternative,
            '\[[^]]*\]', '§', 'g'),
            '\([^()]*\)', '§', 'g'), '\([^()]*\)', '§', 'g'), '\([^()]*\)', '§', 'g'), '\([^()]*\)', '§', 'g')
                                                                            as skeleton
    ) as grouped
    cross join lateral regexp_matches(grouped.skeleton, '(\\.|§|.)(\?|\*|\+|\{[^}]*\})?', 'g')
        with ordinality as atoms (parts, atom_number)
    where regex_alternatives.alternative !~ '\(\?|\\[][()]'
        and grouped.skeleton !~ '[()]'
),

regex_required_texts as (
    select distinct on (alternative_id)
        alternative_id,
        required_text
    from (
        select alternative_id, string_agg(case when is_break then '§' else literal end, '' order by atom_number)
            as skeleton
        from regex_atoms
        group by alternative_id
    ) as skeletons
    cross join lateral regexp_split_to_table(skeletons.skeleton, '§+') as runs (required_text)
    where required_text <> ''
    order by alternative_id, length(required_text) desc, required_text
),

final as (
    select
        'phrase'::text                  as term_kind,
        lexicon_patterns.pattern_id,
        lexicon_patterns.lexicon,
        lexicon_patterns.code,
        lexicon_patterns.weight,
        lexicon_patterns.reads_whole_text,
        phrase_pieces.phrase_id,
        phrase_pieces.word_number,
        phrase_pieces.word_count,
        phrase_pieces.literal,
        phrase_pieces.is_prefix,
        phrase_pieces.is_sought_by,
        null::bigint                    as alternative_id,
        null::bigint                    as regex_id,
        null::text                      as regex,
        null::text                      as anchor,
        null::boolean                   as anchor_is_word,
        null::text                      as required_text
    from phrase_pieces
    inner join lexicon_patterns
        on lexicon_patterns.pattern_id = phrase_pieces.pattern_id
    union all
    select
        'regex',
        lexicon_patterns.pattern_id,
        lexicon_patterns.lexicon,
        lexicon_patterns.code,
        lexicon_patterns.weight,
        lexicon_patterns.reads_whole_text,
        null, null, null, null, null, null,
        regex_alternatives.alternative_id,
        regex_alternatives.regex_id,
        regex_alternatives.regex,
        regex_anchors.anchor,
        regex_anchors.anchor_is_word,
        regex_required_texts.required_text
    from regex_alternatives
    inner join regex_anchors
        on regex_anchors.alternative_id = regex_alternatives.alternative_id
    left join regex_required_texts
        on regex_required_texts.alternative_id = regex_alternatives.alternative_id
    inner join lexicon_patterns
        on lexicon_patterns.pattern_id = regex_alternatives.pattern_id
)

select * from final
