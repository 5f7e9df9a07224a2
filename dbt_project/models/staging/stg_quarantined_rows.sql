{#- Raw rows that staging cannot type (macro untyped_reason): left out of their staging view, listed here
    with the reason, for the gate to count and for `socmon quarantine list`. The loader's own quarantine,
    records that never reached raw, is raw.rejected. -#}

{%- set raw_tables = {
    'vk_posts':          ('vk',       ['owner_id', 'post_id'],      vk_post_key('owner_id', 'post_id')),
    'vk_comments':       ('vk',       ['owner_id', 'comment_id'],   vk_comment_key('owner_id', 'post_id', 'comment_id')),
    'vk_groups':         ('vk',       ['group_id'],                 "'vk:group' || group_id"),
    'telegram_messages': ('telegram', ['peer_id', 'message_id'],    telegram_message_key('peer_id', 'message_id')),
    'telegram_channels': ('telegram', ['channel_id'],               "'telegram:channel/' || channel_id"),
    'ok_topics':         ('ok',       ['group_id', 'topic_id'],     ok_topic_key('topic_id')),
    'ok_comments':       ('ok',       ['topic_id', 'comment_id'],   ok_comment_key('topic_id', 'comment_id')),
    'ok_groups':         ('ok',       ['group_id'],                 "'ok:group/' || group_id"),
} %}

with

{% for raw_table, (platform, keys, object_key) in raw_tables.items() -%}
{{ raw_table }}_untyped as (
    select
        '{{ platform }}'                                  as platform,
        '{{ raw_table }}'                                 as raw_table,
        {{ object_key }}                                  as object_key,
        {{ untyped_reason(raw_table) }}                   as reason,
        source_id,
        load_id,
        payload_hash,
        loaded_at
    from ({{ latest_payload_version(source('raw', raw_table), keys) }}) as latest_version
),

{% endfor -%}

quarantined as (
    {% for raw_table in raw_tables -%}
    select * from {{ raw_table }}_untyped where reason is not null
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}
)

select * from quarantined
