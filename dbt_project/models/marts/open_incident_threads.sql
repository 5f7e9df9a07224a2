{{
    config(
        materialized='view',
        schema='casework',
        grants={'select': ['socmon_loader']},
    )
}}

{#- The threads the extractors re-read, whatever their age, while an incident in them waits for its
    final answer: until that answer is seen, or var open_incident_reread_days (7) days after the final
    deadline. The loader reads this view (and only this one in marts) at the start of each extraction. -#}

with

open_incidents as (
    select
        incident_id,
        coalesce(final_deadline_at, deadline_at)    as final_deadline_at
    from {{ ref('fct_incidents') }}
    where final_answer_at is null
        and coalesce(final_deadline_at, deadline_at)
            + interval '{{ var("open_incident_reread_days") }} days' > {{ as_of_at_or_now() }}
),

incident_messages as (
    select * from {{ ref('fct_incident_messages') }}
),

messages as (
    select * from {{ ref('int_messages_unioned') }}
),

threads as (
    select
        messages.platform,
        messages.community_key                                  as source_id,
        messages.thread_root_key,
        open_incidents.incident_id,
        open_incidents.final_deadline_at
    from open_incidents
    inner join incident_messages
        on incident_messages.incident_id = open_incidents.incident_id
    inner join messages
        on messages.source_message_key = incident_messages.source_message_key
),

final as (
    select
        platform,
        source_id,
        thread_root_key,
        -- the root's id on its platform: VK post id (vk:wall<owner>_<post>), Telegram channel message id
        -- (telegram:<peer>/<message>), OK topic id (ok:topic/<topic>)
        case platform
            when 'vk' then split_part(thread_root_key, '_', 2)
            else split_part(thread_root_key, '/', 2)
        end                                                     as thread_id,
        count(distinct incident_id)                             as open_incident_count,
        max(final_deadline_at)
            + interval '{{ var("open_incident_reread_days") }} days' as reread_until
    from threads
    group by platform, source_id, thread_root_key
)

select * from final
