with

source as (
    select * from {{ source('raw', 'vk_posts') }}
),

versions as (
    select
        *,
        min(loaded_at) over (partition by owner_id, post_id) as first_loaded_at,
        count(*) over (partition by owner_id, post_id)       as version_count
    from source
),

latest_version as (
    select distinct on (owner_id, post_id) *
    from versions
    order by owner_id, post_id, loaded_at desc, payload_hash
),

renamed as (
    select
        'vk:wall' || owner_id || '_' || post_id                       as source_message_key,
        owner_id,
        post_id,
        (payload ->> 'from_id')::bigint                               as author_id,
        (payload ->> 'signer_id')::bigint                             as signer_id,
        to_timestamp((payload ->> 'date')::bigint)                    as published_at,
        to_timestamp((payload ->> 'edited')::bigint)                  as edited_at,
        coalesce(payload ->> 'text', '')                              as message_text,
        payload ->> 'post_type'                                       as post_type,
        coalesce(payload ->> 'is_pinned' in ('1', 'true'), false)     as is_pinned,
        coalesce(payload ->> 'marked_as_ads' in ('1', 'true'), false) as is_marked_as_ads,
        case
            when jsonb_typeof(payload -> 'copy_history') = 'array'
                then jsonb_array_length(payload -> 'copy_history') > 0
            else false
        end                                                           as is_repost,
        coalesce(payload ->> 'is_deleted' in ('1', 'true'), false)    as is_deleted,
        (payload -> 'likes' ->> 'count')::int                         as like_count,
        (payload -> 'reposts' ->> 'count')::int                       as repost_count,
        (payload -> 'views' ->> 'count')::int                         as view_count,
        (payload -> 'comments' ->> 'count')::int                      as comment_count,
        source_id,
        first_loaded_at                                               as detected_at,
        loaded_at,
        version_count
    from latest_version
)

select * from renamed
