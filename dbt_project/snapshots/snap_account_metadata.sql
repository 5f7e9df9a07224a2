{% snapshot snap_account_metadata %}

{#- Type 2 history of the official accounts' platform metadata: one version per metadata payload that
    reached the warehouse (loaded_at), valid from its arrival until the next one. An account that leaves
    the registry is closed (hard_deletes: invalidate). -#}

{{
    config(
        unique_key='account_key',
        strategy='timestamp',
        updated_at='metadata_loaded_at',
        hard_deletes='invalidate',
    )
}}

select * from {{ ref('int_account_metadata_unioned') }}

{% endsnapshot %}
