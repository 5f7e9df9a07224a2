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

{#- The report-vs-talk score of each message (seeds/rules/report_score_weights.csv, written by
    `socmon train-classifier` from the development set): the intercept plus the weights of the distinct
    starts (first 5 letters) of its words, as int_message_tokens split them (without VK mention markup).
    A lookup of each distinct start in the weights, no pattern. is_report: the score reaches the seed's floor;
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

-- the seed in one row: the intercept, the floor, and the word starts' weights as one jsonb object
parameters as (
    select
        min(weight) filter (where feature_kind = 'intercept')                               as intercept,
        min(weight) filter (where feature_kind = 'floor')                                   as floor,
        jsonb_object_agg(word_start, weight) filter (where feature_kind = 'word_start')     as word_start_weights
    from weights
),

-- each message's distinct word starts (a small sort of a few dozen words), their weights looked up in the
-- object, message by message. A distinct over the whole batch's (message, start) pairs spilled to disk
-- (16M pairs at 1M messages: 75 s); a join per message re-scanned the weights.
scored as (
    select
        messages.source_message_key,
        messages.unioned_at,
        parameters.floor,
        parameters.intercept + coalesce((
            select sum((parameters.word_start_weights ->> word_starts.word_start)::numeric)
            from (
                select distinct left(words.word, 5) as word_start
                from unnest(messages.words) as words (word)
                where words.word <> ''
            ) as word_starts
        ), 0)                                                                   as report_score
    from messages
    cross join parameters
    offset 0  -- the score is computed once per message, not once for each column that reads it
),

final as (
    select
        source_message_key,
        unioned_at,
        report_score,
        report_score >= floor                   as is_report,
        '{{ rule_version }}'::text              as rule_version
    from scored
)

select * from final
