with

source as (
    select * from {{ source('raw', 'ok_groups') }}
),

versions as (
    select
        *,
        min(loaded_at) over (partition by group_id) as first_loaded_at
    from source
),

latest_version as (
    select distinct on (group_id) *
    from versions
    order by group_id, loaded_at desc, payload_hash
),

renamed as (
    select
        group_id,
        payload ->> 'name'                                          as group_name,
        payload ->> 'shortname'                                     as screen_name,
        payload ->> 'description'                                   as description,
        (payload ->> 'members_count')::int                          as member_count,
        payload ->> 'pic_avatar'                                    as avatar_url,
        coalesce(jsonb_typeof(payload -> 'main_photo') = 'object', false) as has_main_photo,
        payload ->> 'access_type'                                   as access_type,
        payload ->> 'category'                                      as group_category,
        coalesce((payload ->> 'business')::boolean, false)          as is_business,
        payload ->> 'city'                                          as city,
        payload ->> 'address'                                       as address,
        payload ->> 'phone'                                         as phone,
        payload ->> 'homepage_url'                                  as site,
        to_timestamp((payload ->> 'created_ms')::bigint / 1000.0)   as created_at,
        source_id,
        first_loaded_at,
        loaded_at
    from latest_version
)

select * from renamed
