{#- Helpers of the account compliance models (models/*/compliance). -#}

{#- A number as Russian readers write it: 3, 0,05, 12,5 (a decimal comma, at most two decimals). -#}
{% macro compliance_ru_number(expression) -%}
    case
        when ({{ expression }}) = trunc({{ expression }}) then trunc({{ expression }})::bigint::text
        else replace(rtrim(to_char({{ expression }}, 'FM999999990.99'), '.'), '.', ',')
    end
{%- endmacro %}

{#- A date as 24.11.2026. -#}
{% macro compliance_ru_date(expression) -%}
    to_char({{ expression }}, 'DD.MM.YYYY')
{%- endmacro %}

{#- A name reduced for fuzzy comparison: lower case, ё as е, words of letters and digits. -#}
{% macro compliance_name_key(expression) -%}
    trim(regexp_replace({{ normalize_text(expression) }}, '[^а-яa-z0-9]+', ' ', 'g'))
{%- endmacro %}

{#- `expression in ('a', 'b')` from a list var. -#}
{% macro compliance_in_list(expression, values) -%}
    {{ expression }} in ({%- for value in values %}'{{ value }}'{{ ', ' if not loop.last }}{% endfor -%})
{%- endmacro %}
