{#- Custom schema names are used as they are (staging, intermediate, marts, snapshots): no target
    prefix, since every environment has its own database and the roles own these exact schemas. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
