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
        ],
        pre_hook=["{{ analyze_batch_source(ref('int_message_tokens'), 'unioned_at') }}"],
    )
}}

{#- The learned category score of each message (seeds/rules/category_score_weights.csv, written by
    `socmon train-classifier` from the development set's incidents): for each category, its intercept plus
    the weights of the distinct starts (first 5 letters) of the message's words, as int_message_tokens split
    them (without VK mention markup); the three categories it scores highest, most likely first (a tie by
    code), and the first one's probability (the softmax of the scores). int_messages_classified breaks the keyword rules' ties with it, and names
    the category of a report whose words no keyword knows.
    Incremental like int_message_report_scores: the messages int_message_tokens (re)split since unioned_at,
    all of them under another rule_version (the weights are part of the rules). -#}

{%- set rule_version = rule_version() %}

with

tokens as (
    select * from {{ ref('int_message_tokens') }}
),

weights as (
    select * from {{ ref('category_score_weights') }}
),

intercepts as (
    select category_code, weight from weights where feature_kind = 'intercept'
),

word_start_weights as (
    select word_start, category_code, weight from weights where feature_kind = 'word_start'
),

messages as (
    select source_message_key, unioned_at, coalesce(content_words, words) as words
    from tokens
    {% if is_incremental() %}
    {%- if not holds_other_rule_version(rule_version) %}
    where tokens.unioned_at > {{ processed_since('unioned_at') }}
    {%- endif %}
    {% endif %}
),

-- message by message: its distinct word starts against a hash of the weights built once, summed per
-- category, and the categories' intercepts (a category none of its words weighs keeps its intercept); the
-- first category's probability is the softmax of all the categories' scores
final as (
    select
        messages.source_message_key,
        messages.unioned_at,
        ranking.learned_categories[1]                                            as first_category_code,
        ranking.learned_categories[2]                                            as second_category_code,
        ranking.learned_categories[3]                                            as third_category_code,
        ranking.first_category_probability,
        '{{ rule_version }}'::text                                               as rule_version
    from messages
    cross join lateral (
        select
            array_agg(ranked.category_code order by ranked.score desc, ranked.category_code) as learned_categories,
            max(ranked.first_category_probability)                                as first_category_probability
        from (
            select
                scored.category_code,
                scored.score,
                1 / sum(exp((scored.score - scored.top_score)::float8)) over ()  as first_category_probability
            from (
                select
                    intercepts.category_code,
                    intercepts.weight + coalesce(word_scores.word_score, 0)     as score,
                    max(intercepts.weight + coalesce(word_scores.word_score, 0)) over () as top_score
                from intercepts
                left join (
                    select word_start_weights.category_code, sum(word_start_weights.weight) as word_score
                    from (
                        select distinct left(words.word, 5) as word_start
                        from unnest(messages.words) as words (word)
                        where words.word <> ''
                    ) as word_starts
                    inner join word_start_weights
                        on word_start_weights.word_start = word_starts.word_start
                    group by word_start_weights.category_code
                ) as word_scores
                    on word_scores.category_code = intercepts.category_code
            ) as scored
            order by scored.score desc, scored.category_code
            limit 3
        ) as ranked
    ) as ranking
)

select * from final
