{#- Citizens' questions on the official accounts' own pages (ACC-09): incidents of the incident engine
    (fct_incidents: deadline, first answer) that are comments in the thread of an account's own post.
    A question is answered on time when its first official answer came by the incident's deadline. -#}

with

incidents as (
    select * from {{ ref('fct_incidents') }}
),

messages as (
    select * from {{ ref('int_messages_unioned') }}
),

account_posts as (
    select * from {{ ref('int_account_posts_measured') }}
),

questions as (
    select
        incidents.source_message_key                                         as question_message_key,
        account_posts.account_key,
        account_posts.post_key,
        incidents.platform,
        incidents.published_at,
        incidents.deadline_at,
        incidents.first_answer_at,
        incidents.sla_status,
        coalesce(incidents.first_answer_at <= incidents.deadline_at, false)  as is_answered_on_time
    from incidents
    inner join messages
        on messages.source_message_key = incidents.source_message_key
    inner join account_posts
        on account_posts.post_key = messages.thread_root_key
    where messages.message_kind = 'comment'
),

final as (
    select * from questions
)

select * from final
