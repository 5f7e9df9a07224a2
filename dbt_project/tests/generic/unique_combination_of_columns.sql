{#- Fails for every combination of the columns that occurs more than once. -#}
{% test unique_combination_of_columns(model, combination) %}
    select {{ combination | join(', ') }}, count(*) as row_count
    from {{ model }}
    group by {{ combination | join(', ') }}
    having count(*) > 1
{% endtest %}
