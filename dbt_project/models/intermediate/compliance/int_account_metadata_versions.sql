{#- Every version of every official account's metadata (snap_account_metadata), with the facts the
    profile checks judge. ACC-04's items, each on its own:
    - where the profile has a field for an item, that field must be filled: the website in VK (site) and
      OK (homepage_url), the phone and the address in OK;
    - otherwise the description counts, and in VK also the contacts block (phones, e-mails);
    - activity: what is left of the description without its e-mails, links and phones has at least
      var compliance_min_activity_letters letters.
    Patterns run over the lower-cased description with ё as е. -#}

with

snapshot_versions as (
    select * from {{ ref('snap_account_metadata') }}
),

normalised as (
    select
        *,
        {{ normalize_text('description') }}                                          as description_text
    from snapshot_versions
),

found_in_description as (
    select
        *,
        description_text ~ '[a-z0-9._%+-]+@[a-zа-я0-9.-]+\.[a-zа-я]{2,}'              as description_has_email,
        regexp_replace(description_text, '[a-z0-9._%+-]+@[a-zа-я0-9.-]+\.[a-zа-я]{2,}', ' ', 'g')
                                                                                     as text_without_emails
    from normalised
),

found_links as (
    select
        *,
        text_without_emails
            ~ '(https?://|www\.)\S+|[a-zа-я0-9-]+\.(ru|su|рф|com|org|net|info)\M'     as description_has_website,
        -- +7 / 8 and a code, or a local number 268-00-00
        text_without_emails ~ '(\+7|\m8)[\s(-]*[0-9]{3}|\m[0-9]{2,3}-[0-9]{2}-[0-9]{2}\M'
                                                                                     as description_has_phone,
        text_without_emails
            ~ '📍|\mадрес|\mул\.|\mулица\M|\mпр-т|\mпроспект|\mпер\.|\mпереулок|\mпл\.|\mплощадь|\mг\.\s*[а-я]'
                                                                                     as description_has_address,
        regexp_replace(
            text_without_emails,
            '(https?://|www\.)\S+|[a-zа-я0-9-]+\.(ru|su|рф|com|org|net|info)\M|[+0-9()-][0-9()\s-]{5,}[0-9]',
            ' ',
            'g'
        )                                                                            as text_without_contacts
    from found_in_description
),

final as (
    select
        account_key,
        platform,
        dbt_scd_id                                                                   as metadata_version_id,
        dbt_valid_from                                                               as valid_from_at,
        coalesce(dbt_valid_to, 'infinity'::timestamptz)                              as valid_to_at,
        dbt_valid_to is null                                                         as is_current,
        account_name,
        platform_screen_name,
        deactivated_reason,
        is_closed,
        has_avatar,
        has_cover,
        description,
        length(regexp_replace(text_without_contacts, '[^а-яa-z]', '', 'g'))
            >= {{ var('compliance_min_activity_letters') }}                          as has_activity_info,
        case
            when platform = 'ok' then profile_phone is not null
            else profile_phone is not null or description_has_phone
        end                                                                          as has_phone,
        case
            when platform = 'ok' then profile_address is not null
            else profile_address is not null or description_has_address
        end                                                                          as has_address,
        profile_email is not null or description_has_email                           as has_email,
        case
            when platform in ('vk', 'ok') then profile_site is not null
            else description_has_website
        end                                                                          as has_website,
        is_verified,
        has_open_comments,
        follower_count,
        created_at,
        metadata_loaded_at
    from found_links
)

select * from final
