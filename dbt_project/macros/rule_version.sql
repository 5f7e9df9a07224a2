{#- The version of the classification rules: a digest of every rule seed the classifier's models read
    (their rows as loaded) and of those models' SQL, computed when a model is compiled. The classifier's
    models are those tagged `classifier`. A rule or lexicon change therefore always comes with a new
    version, and an incremental run that finds rows of another version re-classifies everything.
    What cannot change a classification is left out of the digest: a model's config() block (its
    indexes, planner settings, strategy) and Jinja comments, so tuning how a model runs does not
    re-classify a year of messages on deploy. Human corrections (classification_overrides) are not part
    of it either: they are applied to the messages they name. -#}

{% macro rule_version() -%}
    {%- if not execute -%}
        {{ return('rules-unknown') }}
    {%- endif -%}
    {%- set seeds = [] -%}
    {%- set code = [] -%}
    {%- for node in (graph.get('nodes') or {}).values() | selectattr('resource_type', 'equalto', 'model') -%}
        {%- if 'classifier' in node.tags -%}
            {%- do code.append(classifying_sql(node.raw_code)) -%}
            {%- for parent in (node.depends_on or {}).get('nodes', []) -%}
                {%- set seed = graph['nodes'].get(parent) -%}
                {%- if seed and seed.resource_type == 'seed' and seed.name != 'classification_overrides'
                    and (seed.name, seed.relation_name) not in seeds -%}
                    {%- do seeds.append((seed.name, seed.relation_name)) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not seeds -%}
        {{ return('rules-' ~ local_md5(code | sort | join('\n'))[:12]) }}  {#- unit tests see no graph #}
    {%- endif -%}
    {%- set digests -%}
        {%- for name, relation in seeds | sort %}
        select '{{ name }}' as seed, md5(coalesce(string_agg(rows::text, E'\n' order by rows::text), '')) as digest
        from {{ relation }} as rows
        {%- if not loop.last %} union all{% endif %}
        {%- endfor %}
    {%- endset -%}
    {%- set combined -%}
        select md5(string_agg(seed || ':' || digest, ',' order by seed) || '{{ local_md5(code | sort | join("\n")) }}')
        from ({{ digests }}) as seed_digests
    {%- endset -%}
    {{ return('rules-' ~ run_query(combined).columns[0].values()[0][:12]) }}
{%- endmacro %}

{#- A model's SQL without what cannot change its rows: Jinja comments, and the config() block that opens
    it (up to the first `}}` at the start of a line). -#}
{% macro classifying_sql(raw_code) -%}
    {%- set without_comments = modules.re.sub('(?s)[{]#.*?#[}]', '', raw_code).strip() -%}
    {{ return(modules.re.sub('(?s)^[{][{][ \t\n]*config[(].*?\n[}][}]', '', without_comments).strip()) }}
{%- endmacro %}

{#- Whether this incremental model holds rows written under a rule version other than `version`: its run
    then re-does every message instead of the batch. Asked as two ranges of the model's rule_version index
    (below and above the version), each ending at its first row: `rule_version <> …` cannot seek an index,
    and read the whole table (or index) on every run, a cost that grew with the history
    (bench/incremental_cost.py). -#}
{% macro holds_other_rule_version(version) -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(run_query(holds_other_rule_version_sql(this, version)).columns[0].values()[0]) }}
{%- endmacro %}

{% macro holds_other_rule_version_sql(relation, version) -%}
    select exists (select 1 from {{ relation }} where rule_version < '{{ version }}')
        or exists (select 1 from {{ relation }} where rule_version > '{{ version }}')
{%- endmacro %}
