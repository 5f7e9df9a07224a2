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
            "set local parallel_setup_cost = 0",
            "set local parallel_tuple_cost = 0",
            "set local jit = off",
        ],
    )
}}

{#- Each message's text normalised and split into words once, for the models that match words
    (int_message_municipalities, int_messages_classified). One row per message:
    - normalized_text: lower-cased, ё -> е (normalize_text), the form every lexicon pattern is written for;
    - content_text: the same without VK mention markup, when the text has some (null: the same);
    - words: the words of the whole text, in order, cut at everything that is no letter or digit
      (word_separator); joined by spaces, the duplicate key;
    - content_words: the words without VK mention markup, when the text has some (null: the same as words);
    - markup_words: the words of the mentions themselves ("[club200002|Министерство транспорта ...]"),
      an empty string between two mentions; null when there is none.
    An incremental run splits the messages int_messages_unioned (re)wrote since its watermark (unioned_at),
    all of them when some row was split under another rule_version (the splitting is part of the rules). -#}

{%- set rule_version = rule_version() %}

with

unioned as (
    select * from {{ ref('int_messages_unioned') }}
),

messages as not materialized (
    select
        source_message_key,
        loaded_at,
        unioned_at,
        message_text,
        {{ normalize_text('message_text') }}       as normalized_text
    from unioned
    {% if is_incremental() %}
    {%- if not holds_other_rule_version(rule_version) %}
    -- (re)written by int_messages_unioned since this model's last run
    where unioned.unioned_at > {{ processed_since('unioned_at') }}
    {%- endif %}
    {% endif %}
),

-- a text without VK mention markup (most of them) in plain expressions, which Postgres computes in its
-- parallel workers (the model's pre-hooks make a parallel plan look as cheap as it is, and turn off JIT, which
-- each worker compiled again: 0.7 s of 10.9 at 1M messages); the mentions' words
-- are a subquery per message, which keeps a plan's computing in one process, so the texts with markup go apart
final as (
    select
        source_message_key,
        loaded_at,
        unioned_at,
        normalized_text,
        null::text                                                              as content_text,
        {{ text_words('normalized_text') }}                                     as words,
        null::text[]                                                            as content_words,
        null::text[]                                                            as markup_words,
        '{{ rule_version }}'::text                                              as rule_version
    from messages
    where strpos(message_text, '[') > 0 is not true
    union all
    select
        source_message_key,
        loaded_at,
        unioned_at,
        normalized_text,
        {{ content_text('normalized_text') }}                                   as content_text,
        {{ text_words('normalized_text') }}                                     as words,
        {{ text_words(content_text('normalized_text')) }}                       as content_words,
        {{ markup_words('normalized_text') }}                                   as markup_words,
        '{{ rule_version }}'::text                                              as rule_version
    from messages
    where strpos(message_text, '[') > 0
)

select * from final
