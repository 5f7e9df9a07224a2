{#- Staging reads JSON that any loader, old or new, or a hand-made fix may have put in raw. Nothing in it may
    raise: Postgres 15 has no try_cast, so every cast below checks its input's shape first (a pattern, a
    range, jsonb_typeof) and gives NULL where a plain cast would fail the whole `dbt build`. Each takes a
    text expression, usually `payload ->> 'field'`. Nested CASEs because Postgres does not promise the
    order in which the operands of AND are evaluated. -#}

{% macro safe_bigint(text) -%}
    case when {{ text }} ~ '^-?[0-9]{1,19}$' then
        case when ({{ text }})::numeric between -9223372036854775808 and 9223372036854775807
            then ({{ text }})::numeric::bigint end
    end
{%- endmacro %}

{% macro safe_int(text) -%}
    case when {{ text }} ~ '^-?[0-9]{1,10}$' then
        case when ({{ text }})::bigint between -2147483648 and 2147483647 then ({{ text }})::int end
    end
{%- endmacro %}

{#- A Unix time in seconds (or in milliseconds with units_per_second=1000) within years 1 to 9999. -#}
{% macro safe_epoch_timestamp(text, units_per_second=1) -%}
    to_timestamp(
        case when {{ text }} ~ '^-?[0-9]{1,19}$' then
            case when ({{ text }})::numeric between -62135596800 * {{ units_per_second }}
                    and 253402300799 * {{ units_per_second }}
                then ({{ text }})::numeric / {{ units_per_second }} end
        end
    )
{%- endmacro %}

{#- The spellings Postgres reads as a boolean; anything else is NULL. -#}
{% macro safe_boolean(text) -%}
    case when lower(btrim({{ text }})) in ('true', 'false', 't', 'f', '1', '0', 'yes', 'no', 'y', 'n', 'on', 'off')
        then ({{ text }})::boolean end
{%- endmacro %}

{#- An ISO 8601 date and time with its offset (Telethon's isoformat), as timestamptz. -#}
{% macro safe_timestamptz(text) -%}
    {{ _safe_iso_datetime(text, 'timestamptz', "(Z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)?") }}
{%- endmacro %}

{#- A date and time without an offset ("2025-11-25 14:30:00"), as timestamp. -#}
{% macro safe_timestamp(text) -%}
    {{ _safe_iso_datetime(text, 'timestamp', '') }}
{%- endmacro %}

{#- The pattern bounds every field; the day is then checked against its month (no 30 February). -#}
{% macro _safe_iso_datetime(text, type, zone_pattern) -%}
    case when {{ text }} ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?)?{{ zone_pattern }}$'
            and left({{ text }}, 4) <> '0000' then
        case when substr({{ text }}, 9, 2)::int <= extract(day from
                make_date(left({{ text }}, 4)::int, substr({{ text }}, 6, 2)::int, 1) + interval '1 month - 1 day')
            then ({{ text }})::{{ type }} end
    end
{%- endmacro %}

{#- A JSON string or number as text; NULL for an object, an array, a boolean or a JSON null. -#}
{% macro safe_text(json) -%}
    case when jsonb_typeof({{ json }}) in ('string', 'number') then {{ json }} #>> '{}' end
{%- endmacro %}


{#- The latest payload version of every object of a raw table, with when the object was first detected and
    how many versions it has. `keys` are the raw table's object key columns: staging views are partitioned
    by them, so a filter on the keys (macro changed_staging_rows) goes down to the raw table's key index. -#}
{% macro latest_payload_version(relation, keys) -%}
    {%- set key_list = keys | join(', ') -%}
    select distinct on ({{ key_list }}) *
    from (
        select
            *,
            min(loaded_at) over (partition by {{ key_list }}) as first_loaded_at,
            count(*) over (partition by {{ key_list }})       as version_count
        from {{ relation }}
    ) as versions
    order by {{ key_list }}, loaded_at desc, payload_hash
{%- endmacro %}


{#- Why the latest version of a raw row cannot be typed (NULL when it can). Such a row is left out of its
    staging view and listed in stg_quarantined_rows with this reason. Only what staging cannot do without
    is checked here: an object payload, the fields of the not-null columns (a message's date), and an
    author id that is there but does not cast (an unknown author would pass for a missing one). Any other
    field that does not cast is NULL in staging. The loader checks far more before a row reaches raw
    (plugins/socmon/warehouse/record_checks.py); this catches rows that came in some other way. -#}
{% macro untyped_reason(raw_table) -%}
    {#- (field, its typed value, what it should be, whether it must be there) -#}
    {%- set checked_fields = {
        'vk_posts': [
            ('date', safe_epoch_timestamp("payload ->> 'date'"), 'a Unix time', true),
            ('from_id', safe_bigint("payload ->> 'from_id'"), 'a 64-bit integer', false),
        ],
        'vk_comments': [
            ('date', safe_epoch_timestamp("payload ->> 'date'"), 'a Unix time', true),
            ('from_id', safe_bigint("payload ->> 'from_id'"), 'a 64-bit integer', false),
        ],
        'vk_groups': [],
        'telegram_messages': [
            ('date', safe_timestamptz("payload ->> 'date'"), 'an ISO 8601 time with its offset', true),
        ],
        'telegram_channels': [],
        'ok_topics': [
            ('created_ms', safe_epoch_timestamp("payload ->> 'created_ms'", 1000), 'a Unix time in milliseconds', true),
        ],
        'ok_comments': [
            (
                'date_ms',
                'coalesce(' ~ safe_epoch_timestamp("payload ->> 'date_ms'", 1000) ~ ', '
                    ~ safe_timestamp("payload ->> 'date'") ~ ')',
                "a Unix time in milliseconds (nor is ''date'' a time)",
                true,
            ),
            ('author_id', safe_bigint("payload ->> 'author_id'"), 'a 64-bit integer', false),
        ],
        'ok_groups': [],
    } -%}
    case
        when jsonb_typeof(payload) <> 'object'
            then 'payload is not a JSON object but ' || jsonb_typeof(payload)
        {%- if raw_table == 'vk_groups' %}
        when group_id <= 0 then 'group_id ' || group_id || ' is not a positive VK group id'
        {%- endif %}
        {%- for field, typed, expected, required in checked_fields[raw_table] %}
        when {% if not required %}payload ->> '{{ field }}' is not null and {% endif %}{{ typed }} is null
            then 'field ''{{ field }}'' is not {{ expected }}: '
                || coalesce(left(payload ->> '{{ field }}', 60), 'missing')
        {%- endfor %}
    end
{%- endmacro %}
