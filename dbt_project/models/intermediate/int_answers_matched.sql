{{ config(materialized='table') }}

{#- Official answers to incidents. A body answers in the thread of the message (REGULATION.md):
    - a post incident: any comment by a registered official account under that post;
    - a comment incident: a reply by an official account in that comment's thread.
    Each answer is intermediate or final by answer_markers (the matching marker with the lowest priority
    decides; no marker = final). -#}

with

classified as (
    select * from {{ ref('int_messages_classified') }}
),

messages as (
    select * from {{ ref('int_messages_unioned') }}
),

answer_markers as (
    select * from {{ ref('answer_markers') }}
),

incidents as (
    select source_message_key, message_kind, thread_root_key, reply_thread_key, published_at
    from classified
    where is_incident
),

official_comments as (
    select
        source_message_key,
        platform,
        account_key,
        account_body_code,
        thread_root_key,
        reply_thread_key,
        published_at,
        detected_at,
        loaded_at,
        {{ normalize_text('message_text') }} as normalized_text
    from messages
    where author_is_official
        and message_kind = 'comment'
),

post_incident_answers as (
    select
        incidents.source_message_key           as incident_message_key,
        official_comments.*
    from incidents
    inner join official_comments
        on official_comments.thread_root_key = incidents.source_message_key
        and official_comments.published_at >= incidents.published_at
    where incidents.message_kind = 'post'
),

comment_incident_answers as (
    select
        incidents.source_message_key           as incident_message_key,
        official_comments.*
    from incidents
    inner join official_comments
        on official_comments.reply_thread_key = incidents.reply_thread_key
        and official_comments.published_at >= incidents.published_at
        and official_comments.source_message_key <> incidents.source_message_key
    where incidents.message_kind = 'comment'
),

answers as (
    select * from post_incident_answers
    union all
    select * from comment_incident_answers
),

marker_kinds as (
    select distinct on (answers.source_message_key)
        answers.source_message_key,
        answer_markers.answer_kind
    from answers
    inner join answer_markers
        on answers.normalized_text ~ answer_markers.pattern
    order by answers.source_message_key, answer_markers.priority, answer_markers.answer_kind
),

final as (
    select
        answers.incident_message_key,
        answers.source_message_key                      as answer_message_key,
        answers.platform,
        answers.account_key,
        answers.account_body_code,
        answers.published_at                            as answered_at,
        answers.detected_at                             as answer_detected_at,
        answers.loaded_at                               as answer_loaded_at,
        coalesce(marker_kinds.answer_kind, 'final')     as answer_kind
    from answers
    left join marker_kinds
        on marker_kinds.source_message_key = answers.source_message_key
)

select * from final
