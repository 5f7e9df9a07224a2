{{ config(severity='warn', tags=['daily']) }}

{#- Deadlines fall up to about two weeks after a message (7 working days after an intermediate answer).
    Warns when the working calendar ends less than 60 days after as_of_at: regenerate it
    (python -m socmon.calendar) once holidays.RU knows the next year's transfers. -#}

select max(calendar_date) as last_calendar_date
from {{ ref('working_calendar') }}
having max(calendar_date) < ({{ as_of_at() }} at time zone {{ time_zone() }})::date + 60
