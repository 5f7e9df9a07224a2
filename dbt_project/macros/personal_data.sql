{#- Personal data in the models (README «Персональные данные»): the casework schema keeps citizens' text
    for the officers, with contacts masked; the marts for BI get opaque ids instead of message keys. -#}

{#- A citizen's text with e-mail addresses and phone numbers masked (the officers act on the complaint,
    not on the contacts; a VK mention keeps the name and drops the id). -#}
{% macro mask_contacts(text) -%}
    regexp_replace(
        regexp_replace(
            regexp_replace({{ text }}, '\[id[0-9]+\|([^]]*)\]', '\1', 'g'),
            '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}', '[e-mail скрыт]', 'g'),
        '(\+7|\m8)[ (-]*[0-9]{3}[ )-]*[0-9]{3}[ -]*[0-9]{2}[ -]*[0-9]{2}\M', '[телефон скрыт]', 'g')
{%- endmacro %}

{#- The opaque id BI sees for a message or incident key: HMAC-SHA-256 keyed by the warehouse's secret
    (ops.pseudonym), so it cannot be turned back into the key by enumerating keys. -#}
{% macro opaque_id(kind, key) -%}
    ops.pseudonym('{{ kind }}', {{ key }})
{%- endmacro %}
