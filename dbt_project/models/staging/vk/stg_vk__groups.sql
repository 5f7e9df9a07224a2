with

source as (
    select * from {{ source('raw', 'vk_groups') }}
),

latest_version as (
    {{ latest_payload_version('source', ['group_id']) }}
),

typeable as (
    select * from latest_version
    where {{ untyped_reason('vk_groups') }} is null
),

renamed as (
    select
        group_id,
        -group_id                                                          as owner_id,
        payload ->> 'screen_name'                                          as screen_name,
        payload ->> 'name'                                                 as group_name,
        payload ->> 'type'                                                 as group_type,
        {{ safe_int("payload ->> 'is_closed'") }}                          as access_level,
        payload ->> 'deactivated'                                          as deactivated_reason,
        coalesce(payload ->> 'verified' in ('1', 'true'), false)           as is_verified,
        coalesce(payload ->> 'has_photo' in ('1', 'true'), false)          as has_photo,
        payload ->> 'photo_200'                                            as photo_url,
        coalesce(payload -> 'cover' ->> 'enabled' in ('1', 'true'), false) as is_cover_enabled,
        payload ->> 'description'                                          as description,
        payload ->> 'status'                                               as status_text,
        payload ->> 'activity'                                             as activity,
        payload ->> 'site'                                                 as site,
        payload -> 'city' ->> 'title'                                      as city,
        case
            when jsonb_typeof(payload -> 'contacts') = 'array'
                then jsonb_array_length(payload -> 'contacts')
            else 0
        end                                                                as contact_count,
        (
            select string_agg(contact ->> 'phone', ', ' order by position)
            from jsonb_array_elements(
                case when jsonb_typeof(payload -> 'contacts') = 'array' then payload -> 'contacts' else '[]' end
            ) with ordinality as contacts (contact, position)
            where coalesce(contact ->> 'phone', '') <> ''
        )                                                                  as contact_phones,
        (
            select string_agg(contact ->> 'email', ', ' order by position)
            from jsonb_array_elements(
                case when jsonb_typeof(payload -> 'contacts') = 'array' then payload -> 'contacts' else '[]' end
            ) with ordinality as contacts (contact, position)
            where coalesce(contact ->> 'email', '') <> ''
        )                                                                  as contact_emails,
        {{ safe_int("payload ->> 'members_count'") }}                      as member_count,
        {{ safe_int("payload ->> 'wall'") }}                               as wall_mode,
        source_id,
        first_loaded_at,
        loaded_at
    from typeable
)

select * from renamed
