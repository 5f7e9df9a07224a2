with

source as (
    select * from {{ source('raw', 'ok_topics') }}
),

versions as (
    select
        *,
        min(loaded_at) over (partition by group_id, topic_id) as first_loaded_at,
        count(*) over (partition by group_id, topic_id)       as version_count
    from source
),

latest_version as (
    select distinct on (group_id, topic_id) *
    from versions
    order by group_id, topic_id, loaded_at desc, payload_hash
),

renamed as (
    select
        'ok:topic/' || topic_id                                               as source_message_key,
        topic_id,
        group_id,
        -- refs read "user:<id>" or "group:<id>"
        split_part(payload ->> 'author_ref', ':', 1)                          as author_type,
        nullif(split_part(payload ->> 'author_ref', ':', 2), '')::bigint      as author_id,
        to_timestamp((payload ->> 'created_ms')::bigint / 1000.0)             as published_at,
        coalesce(
            (
                select string_agg(media ->> 'text', e'\n' order by position)
                from jsonb_array_elements(payload -> 'media') with ordinality as items (media, position)
                where media ->> 'type' = 'text'
            ),
            ''
        )                                                                     as message_text,
        (payload -> 'discussion_summary' ->> 'comments_count')::int           as comment_count,
        (payload -> 'like_summary' ->> 'count')::int                          as like_count,
        (payload -> 'reshare_summary' ->> 'count')::int                       as reshare_count,
        coalesce((payload ->> 'is_commenting_denied')::boolean, false)        as is_commenting_denied,
        coalesce((payload ->> 'is_ad')::boolean, false)                       as is_marked_as_ads,
        source_id,
        first_loaded_at                                                       as detected_at,
        loaded_at,
        version_count
    from latest_version
)

select * from renamed
