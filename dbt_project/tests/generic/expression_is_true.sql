{#- Fails for every row where the expression is false (nulls pass). -#}
{% test expression_is_true(model, expression) %}
    select *
    from {{ model }}
    where not coalesce(({{ expression }}), true)
{% endtest %}
