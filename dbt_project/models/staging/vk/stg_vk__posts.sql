with

source as (
    select * from {{ source('raw', 'vk_posts') }}
),

latest_version as (
    {{ latest_payload_version('source', ['owner_id', 'post_id']) }}
),

typeable as (
    select * from latest_version
    where {{ untyped_reason('vk_posts') }} is null
),

renamed as (
    select
        {{ vk_post_key('owner_id', 'post_id') }}                      as source_message_key,
        owner_id,
        post_id,
        {{ safe_bigint("payload ->> 'from_id'") }}                    as author_id,
        {{ safe_bigint("payload ->> 'signer_id'") }}                  as signer_id,
        {{ safe_epoch_timestamp("payload ->> 'date'") }}              as published_at,
        {{ safe_epoch_timestamp("payload ->> 'edited'") }}            as edited_at,
        coalesce({{ safe_text("payload -> 'text'") }}, '')            as message_text,
        payload ->> 'post_type'                                       as post_type,
        coalesce(payload ->> 'is_pinned' in ('1', 'true'), false)     as is_pinned,
        coalesce(payload ->> 'marked_as_ads' in ('1', 'true'), false) as is_marked_as_ads,
        case
            when jsonb_typeof(payload -> 'copy_history') = 'array'
                then jsonb_array_length(payload -> 'copy_history') > 0
            else false
        end                                                           as is_repost,
        coalesce(payload ->> 'is_deleted' in ('1', 'true'), false)    as is_deleted,
        {{ safe_int("payload -> 'likes' ->> 'count'") }}              as like_count,
        {{ safe_int("payload -> 'reposts' ->> 'count'") }}            as repost_count,
        {{ safe_int("payload -> 'views' ->> 'count'") }}              as view_count,
        {{ safe_int("payload -> 'comments' ->> 'count'") }}           as comment_count,
        source_id,
        first_loaded_at                                               as detected_at,
        loaded_at,
        version_count
    from typeable
)

select * from renamed
