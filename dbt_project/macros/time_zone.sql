{#- The time zone of the bodies' working hours, report days and months (var time_zone), as a SQL
    literal: `published_at at time zone {{ time_zone() }}`. -#}
{% macro time_zone() -%}
    '{{ var("time_zone") }}'
{%- endmacro %}
