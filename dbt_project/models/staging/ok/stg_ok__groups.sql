with

source as (
    select * from {{ source('raw', 'ok_groups') }}
),

latest_version as (
    {{ latest_payload_version('source', ['group_id']) }}
),

typeable as (
    select * from latest_version
    where {{ untyped_reason('ok_groups') }} is null
),

renamed as (
    select
        group_id,
        payload ->> 'name'                                                as group_name,
        payload ->> 'shortname'                                           as screen_name,
        payload ->> 'description'                                         as description,
        {{ safe_int("payload ->> 'members_count'") }}                     as member_count,
        payload ->> 'pic_avatar'                                          as avatar_url,
        coalesce(jsonb_typeof(payload -> 'main_photo') = 'object', false) as has_main_photo,
        payload ->> 'access_type'                                         as access_type,
        payload ->> 'category'                                            as group_category,
        coalesce({{ safe_boolean("payload ->> 'business'") }}, false)     as is_business,
        payload ->> 'city'                                                as city,
        payload ->> 'address'                                             as address,
        payload ->> 'phone'                                               as phone,
        payload ->> 'homepage_url'                                        as site,
        {{ safe_epoch_timestamp("payload ->> 'created_ms'", 1000) }}      as created_at,
        source_id,
        first_loaded_at,
        loaded_at
    from typeable
)

select * from renamed
