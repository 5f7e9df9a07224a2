{{
    config(
        materialized='incremental',
        unique_key=['incident_message_key', 'answer_message_key'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['incident_message_key']},
            {'columns': ['matched_at']},
        ],
        pre_hook=["{{ delete_answers_to_rematch() }}"],
        post_hook=["{{ write_table_note({'matched_through': run_started_at.isoformat()}) }}"],
    )
}}

{#- Official answers to incidents. A body answers in the thread of the message (REGULATION.md), in the
    network where it was published:
    - a post incident (a VK post, a Telegram channel post, an OK topic): any comment by a registered
      official account under that post (VK comments, the post's Telegram discussion, the OK topic);
    - a comment incident: an official reply to it, or in its reply thread (VK: the top-level comment's
      thread; Telegram and OK: the comment it replies to).
    An answer under any message merged into an incident (int_incident_messages) answers the incident.
    Each answer is intermediate or final by answer_markers (the matching marker with the lowest priority
    decides; no marker = final).
    An incremental run re-matches only the incidents with a message in a thread where a comment (official,
    or formerly official) or an incident message was classified since its watermark: their rows are
    deleted first (incidents_to_rematch), so an answer that no longer counts, or an incident that is no
    longer one, leaves nothing behind. Its watermark is the start of its last run (matched_through), kept
    in its table's note: with no answer found, no row would carry it. -#}

with

incident_messages as (
    select * from {{ ref('int_incident_messages') }}
),

classified as (
    select * from {{ ref('int_messages_classified') }}
),

answer_markers as (
    select * from {{ ref('answer_markers') }}
),

{% if is_incremental() %}
-- the incidents with a message in a thread where something changed
to_rematch as (
    {{ incidents_to_rematch(matched_through()) }}
),

-- their messages through the incident_message_key index (offset 0 keeps the lookup a correlated subquery)
incident_messages_to_rematch as (
    select rematched.*
    from to_rematch
    cross join lateral (
        select *
        from incident_messages
        where incident_messages.incident_message_key = to_rematch.incident_message_key
        offset 0
    ) as rematched
),
{% endif %}

-- an answer under any message merged into the incident answers the incident
incidents as (
    select
        incident_message_key,
        source_message_key,
        message_kind,
        thread_root_key,
        reply_thread_key,
        published_at
    from {% if is_incremental() %}incident_messages_to_rematch{% else %}incident_messages{% endif %}
),

official_comments as (
    select
        source_message_key,
        platform,
        account_key,
        account_body_code,
        thread_root_key,
        parent_message_key,
        reply_thread_key,
        published_at,
        detected_at,
        loaded_at,
        {{ normalize_text('message_text') }} as normalized_text
    from classified
    where author_is_official
        and message_kind = 'comment'
        {% if is_incremental() %}
        and thread_root_key in (select thread_root_key from incidents)
        {% endif %}
),

comment_incident_answers as (
    select
        incidents.incident_message_key,
        incidents.source_message_key           as answered_message_key,
        official_comments.*
    from incidents
    inner join official_comments
        on (
            official_comments.reply_thread_key = incidents.reply_thread_key
            or official_comments.parent_message_key = incidents.source_message_key
        )
        and official_comments.published_at >= incidents.published_at
        and official_comments.source_message_key <> incidents.source_message_key
    where incidents.message_kind = 'comment'
),

-- under a post incident: the official comments in its thread, except replies to a comment incident there
post_incident_answers as (
    select
        incidents.incident_message_key,
        incidents.source_message_key           as answered_message_key,
        official_comments.*
    from incidents
    inner join official_comments
        on official_comments.thread_root_key = incidents.source_message_key
        and official_comments.published_at >= incidents.published_at
    where incidents.message_kind = 'post'
        and not exists (
            select 1
            from comment_incident_answers
            where comment_incident_answers.source_message_key = official_comments.source_message_key
        )
),

-- one row per incident and answer, even when it answers two of the incident's merged messages
answers as (
    select distinct on (incident_message_key, source_message_key) *
    from (
        select * from comment_incident_answers
        union all
        select * from post_incident_answers
    ) as matched
    order by incident_message_key, source_message_key, answered_message_key
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
        answers.answered_message_key,
        answers.platform,
        answers.account_key,
        answers.account_body_code,
        answers.published_at                            as answered_at,
        answers.detected_at                             as answer_detected_at,
        answers.loaded_at                               as answer_loaded_at,
        coalesce(marker_kinds.answer_kind, 'final')     as answer_kind,
        {{ run_started_at_sql() }}                      as matched_at
    from answers
    left join marker_kinds
        on marker_kinds.source_message_key = answers.source_message_key
)

select * from final
