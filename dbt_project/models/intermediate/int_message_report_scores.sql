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
    )
}}

{#- The report-vs-talk score of each message (seeds/rules/report_score_weights.csv, written by
    `socmon train-classifier` from the development set): the intercept plus the weights of the distinct
    starts (first 5 letters) of its words, as int_message_tokens split them (without VK mention markup).
    One hash join of the words with the weights, no pattern. is_report: the score reaches the seed's floor;
    int_messages_classified takes a rules' incident below it for talk (not_about_authorities).
    Incremental like int_message_tokens: the messages it (re)split since unioned_at, all of them under
    another rule_version (the weights are part of the rules). -#}

{%- set rule_version = rule_version() %}

with

tokens as (
    select * from {{ ref('int_message_tokens') }}
),

weights as (
    select * from {{ ref('report_score_weights') }}
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

word_starts as (
    select distinct messages.source_message_key, left(words.word, 5) as word_start
    from messages
    cross join lateral unnest(messages.words) as words (word)
    where words.word <> ''
),

word_scores as (
    select word_starts.source_message_key, sum(weights.weight) as word_score
    from word_starts
    inner join weights
        on weights.word_start = word_starts.word_start
        and weights.feature_kind = 'word_start'
    group by word_starts.source_message_key
),

final as (
    select
        messages.source_message_key,
        messages.unioned_at,
        intercept.weight + coalesce(word_scores.word_score, 0)                   as report_score,
        intercept.weight + coalesce(word_scores.word_score, 0) >= floor.weight   as is_report,
        '{{ rule_version }}'::text                                               as rule_version
    from messages
    cross join (select weight from weights where feature_kind = 'intercept') as intercept
    cross join (select weight from weights where feature_kind = 'floor') as floor
    left join word_scores
        on word_scores.source_message_key = messages.source_message_key
)

select * from final
