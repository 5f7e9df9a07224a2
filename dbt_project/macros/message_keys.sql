{#- The keys and addresses of messages, built here only (docs/ARCHITECTURE.md, "Public contracts"):
    - `vk:wall<owner_id>_<post_id>`, `vk:comment<owner_id>_<post_id>_<comment_id>`;
    - `telegram:<peer_id>/<message_id>`, with the bare id of the channel or discussion group;
    - `ok:topic/<topic_id>`, `ok:comment/<topic_id>/<comment_id>`.
    Each argument is an SQL expression. -#}

{% macro vk_post_key(owner_id, post_id) -%}
    'vk:wall' || {{ owner_id }} || '_' || {{ post_id }}
{%- endmacro %}

{% macro vk_comment_key(owner_id, post_id, comment_id) -%}
    'vk:comment' || {{ owner_id }} || '_' || {{ post_id }} || '_' || {{ comment_id }}
{%- endmacro %}

{% macro telegram_message_key(peer_id, message_id) -%}
    'telegram:' || {{ peer_id }} || '/' || {{ message_id }}
{%- endmacro %}

{% macro ok_topic_key(topic_id) -%}
    'ok:topic/' || {{ topic_id }}
{%- endmacro %}

{% macro ok_comment_key(topic_id, comment_id) -%}
    'ok:comment/' || {{ topic_id }} || '/' || {{ comment_id }}
{%- endmacro %}

{#- The platform ids back from a key (the inverse of the macros above), as the raw tables type them. -#}
{% macro message_key_ids(key, platform_object) -%}
    {%- if platform_object == 'vk_post' -%}
    (regexp_match({{ key }}, '^vk:wall(-?[0-9]+)_([0-9]+)$'))[1]::bigint as owner_id,
    (regexp_match({{ key }}, '^vk:wall(-?[0-9]+)_([0-9]+)$'))[2]::bigint as post_id
    {%- elif platform_object == 'vk_comment' -%}
    (regexp_match({{ key }}, '^vk:comment(-?[0-9]+)_([0-9]+)_([0-9]+)$'))[1]::bigint as owner_id,
    (regexp_match({{ key }}, '^vk:comment(-?[0-9]+)_([0-9]+)_([0-9]+)$'))[3]::bigint as comment_id
    {%- elif platform_object == 'telegram_message' -%}
    (regexp_match({{ key }}, '^telegram:(-?[0-9]+)/([0-9]+)$'))[1]::bigint as peer_id,
    (regexp_match({{ key }}, '^telegram:(-?[0-9]+)/([0-9]+)$'))[2]::bigint as message_id
    {%- elif platform_object == 'ok_topic' -%}
    (regexp_match({{ key }}, '^ok:topic/([0-9]+)$'))[1]::bigint as topic_id
    {%- elif platform_object == 'ok_comment' -%}
    (regexp_match({{ key }}, '^ok:comment/([0-9]+)/(.+)$'))[1]::bigint as topic_id,
    (regexp_match({{ key }}, '^ok:comment/([0-9]+)/(.+)$'))[2] as comment_id
    {%- else -%}
    {{ exceptions.raise_compiler_error("message_key_ids: unknown platform object " ~ platform_object) }}
    {%- endif -%}
{%- endmacro %}

{#- Addresses of messages on their platforms. -#}

{% macro vk_post_url(owner_id, post_id) -%}
    'https://vk.com/wall' || {{ owner_id }} || '_' || {{ post_id }}
{%- endmacro %}

{% macro vk_comment_url(owner_id, post_id, comment_id) -%}
    {{ vk_post_url(owner_id, post_id) }} || '?reply=' || {{ comment_id }}
{%- endmacro %}

{#- A channel's post: by the channel's username when the registry knows it, else the private link. -#}
{% macro telegram_post_url(screen_name, peer_id, message_id) -%}
    case
        when {{ screen_name }} is not null then 'https://t.me/' || {{ screen_name }} || '/' || {{ message_id }}
        else 'https://t.me/c/' || {{ peer_id }} || '/' || {{ message_id }}
    end
{%- endmacro %}

{#- A reply in a channel's discussion: under the channel post when both are known, else in the group. -#}
{% macro telegram_reply_url(screen_name, channel_post_id, peer_id, message_id) -%}
    case
        when {{ screen_name }} is not null and {{ channel_post_id }} is not null
            then 'https://t.me/' || {{ screen_name }} || '/' || {{ channel_post_id }} || '?comment=' || {{ message_id }}
        else 'https://t.me/c/' || {{ peer_id }} || '/' || {{ message_id }}
    end
{%- endmacro %}

{% macro ok_topic_url(group_id, topic_id) -%}
    'https://ok.ru/group/' || coalesce({{ group_id }}::text, 'unknown') || '/topic/' || {{ topic_id }}
{%- endmacro %}
