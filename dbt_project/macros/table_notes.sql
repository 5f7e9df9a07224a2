{#- A model's note to its next run, kept as its table's comment (JSON), written by a post-hook in the run's
    own transaction: what a run has processed, when no row it writes can say so. int_answers_matched
    writes rows only for answers, so with none the largest matched_at stays where the last answer left it
    (or at -infinity): every run re-matched all the threads since, a cost that grew with the history
    (bench/incremental_cost.py). A table built anew has no note: its next run reads every input as new. -#}

{#- The note of this model's table, as a dict ({} when there is none, or while dbt only parses). -#}
{% macro table_note() -%}
    {%- if not execute or this is string -%}
        {{ return({}) }}
    {%- endif -%}
    {%- set relation = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) -%}
    {%- if relation is none -%}
        {{ return({}) }}
    {%- endif -%}
    {%- set text = run_query("select obj_description('" ~ relation ~ "'::regclass, 'pg_class')").columns[0].values()[0] -%}
    {%- if text and text.startswith('{') -%}
        {{ return(fromjson(text)) }}
    {%- endif -%}
    {{ return({}) }}
{%- endmacro %}

{#- Post-hook: the note, replacing the previous one. -#}
{% macro write_table_note(note) -%}
    comment on table {{ this }} is '{{ tojson(note) | replace("'", "''") }}'
{%- endmacro %}

{#- A digest of what int_messages_unioned takes a message's context from: the registry (official accounts,
    monitored communities) and the places of the communities outside it. -#}
{% macro message_context_digest() -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set query -%}
        select md5(string_agg(context_row, '|' order by context_row))
        from (
            select 'account ' || accounts::text as context_row from {{ ref('official_accounts') }} as accounts
            union all
            select 'community ' || communities::text from {{ ref('monitored_communities') }} as communities
            union all
            select 'place ' || places::text from {{ ref('int_community_places') }} as places
        ) as context_rows
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0] or '') }}
{%- endmacro %}
