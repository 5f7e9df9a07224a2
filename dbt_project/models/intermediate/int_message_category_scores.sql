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
    )
}}

{#- The learned category score of each message (seeds/rules/category_score_weights.csv, written by
    `socmon train-classifier` from the development set's incidents): for each category, its intercept plus
    the weights of the distinct starts (first 5 letters) of the message's words, as int_message_tokens split
    them (without VK mention markup); the three categories it scores highest, most likely first (a tie by
    code), and the first one's probability (the softmax of the scores). Only for the messages the learned
    report score reads as reports (int_message_report_scores.is_report; null for the others): they are the
    ones whose category int_messages_classified may take from it, and a dense model costs per message.
    Incremental like int_message_report_scores: the messages it scored since unioned_at, all of them under
    another rule_version (the weights are part of the rules). -#}

{%- set rule_version = rule_version() %}

with

tokens as (
    select * from {{ ref('int_message_tokens') }}
),

report_scores as (
    select * from {{ ref('int_message_report_scores') }}
),

weights as (
    select * from {{ ref('category_score_weights') }}
),

intercepts as materialized (
    select category_code, weight from weights where feature_kind = 'intercept'
),

-- the weights as one map, word start -> {category: weight}, built once: each message looks its word starts
-- up in it (a binary search each). A join with the weights inside the per-message subquery below hashed the
-- message's few starts and scanned all the weights, for every message (1 ms each).
weight_map as materialized (
    select jsonb_object_agg(word_start, category_weights) as by_word_start
    from (
        select word_start, jsonb_object_agg(category_code, weight) as category_weights
        from weights
        where feature_kind = 'word_start'
        group by word_start
    ) as word_start_weights
),

-- the batch's words: int_message_report_scores carries the unioned_at of int_message_tokens, so the same
-- watermark selects the batch on both sides. Filtering the scores alone hash-joined the batch with the whole
-- of int_message_tokens (10.5M rows at 10.5M messages)
{%- set batch_condition = 'true' %}
{%- if is_incremental() %}
    {%- if not holds_other_rule_version(rule_version) %}
        {%- set batch_condition = 'batch.unioned_at > ' ~ processed_since('unioned_at') %}
    {%- endif %}
{%- endif %}

messages as (
    select report_scores.source_message_key, report_scores.unioned_at, report_scores.is_report, tokens.words
    from (
        select source_message_key, unioned_at, is_report from report_scores as batch
        where {{ batch_condition }}
    ) as report_scores
    inner join (
        select source_message_key, coalesce(content_words, words) as words from tokens as batch
        where {{ batch_condition }}
    ) as tokens
        on tokens.source_message_key = report_scores.source_message_key
),

-- message by message (a report): the weights of its distinct word starts, summed per category, and the
-- categories' intercepts (a category none of its words weighs keeps its intercept), in one aggregate
final as (
    select
        messages.source_message_key,
        messages.unioned_at,
        ranking.learned_categories[1]                                            as first_category_code,
        ranking.learned_categories[2]                                            as second_category_code,
        ranking.learned_categories[3]                                            as third_category_code,
        exp(ranking.top_score) / ranking.exp_score_sum                           as first_category_probability,
        '{{ rule_version }}'::text                                               as rule_version
    from messages
    left join lateral (
        select
            (array_agg(scored.category_code order by scored.score desc, scored.category_code))[1:3]
                                                                                 as learned_categories,
            max(scored.score)::float8                                            as top_score,
            sum(exp(scored.score::float8))                                       as exp_score_sum
        from (
            select intercepts.category_code, intercepts.weight + coalesce(word_scores.word_score, 0) as score
            from intercepts
            left join (
                select hits.category_code, sum(hits.weight::numeric) as word_score
                from (
                    select distinct left(words.word, 5) as word_start
                    from unnest(messages.words) as words (word)
                    where words.word <> ''
                ) as word_starts
                cross join weight_map
                cross join lateral jsonb_each_text(weight_map.by_word_start -> word_starts.word_start)
                    as hits (category_code, weight)
                group by hits.category_code
            ) as word_scores
                on word_scores.category_code = intercepts.category_code
        ) as scored
        where messages.is_report
    ) as ranking
        on true
)

select * from final
