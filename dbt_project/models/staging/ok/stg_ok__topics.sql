with

source as (
    select * from {{ source('raw', 'ok_topics') }}
),

latest_version as (
    {{ latest_payload_version('source', ['group_id', 'topic_id']) }}
),

typeable as (
    select * from latest_version
    where {{ untyped_reason('ok_topics') }} is null
),

renamed as (
    select
        {{ ok_topic_key('topic_id') }}                                            as source_message_key,
        topic_id,
        group_id,
        -- refs read "user:<id>" or "group:<id>"
        split_part(payload ->> 'author_ref', ':', 1)                              as author_type,
        {{ safe_bigint("split_part(payload ->> 'author_ref', ':', 2)") }}         as author_id,
        {{ safe_epoch_timestamp("payload ->> 'created_ms'", 1000) }}              as published_at,
        coalesce(
            (
                select string_agg({{ safe_text("media -> 'text'") }}, e'\n' order by position)
                from jsonb_array_elements(
                    case when jsonb_typeof(payload -> 'media') = 'array' then payload -> 'media' else '[]' end
                ) with ordinality as items (media, position)
                where media ->> 'type' = 'text'
            ),
            ''
        )                                                                         as message_text,
        {{ safe_int("payload -> 'discussion_summary' ->> 'comments_count'") }}    as comment_count,
        {{ safe_int("payload -> 'like_summary' ->> 'count'") }}                   as like_count,
        {{ safe_int("payload -> 'reshare_summary' ->> 'count'") }}                as reshare_count,
        coalesce({{ safe_boolean("payload ->> 'is_commenting_denied'") }}, false) as is_commenting_denied,
        coalesce({{ safe_boolean("payload ->> 'is_ad'") }}, false)                as is_marked_as_ads,
        source_id,
        first_loaded_at                                                           as detected_at,
        loaded_at,
        version_count
    from typeable
)

select * from renamed
