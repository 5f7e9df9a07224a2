"""The time zone of the Krasnodar Krai executive bodies: reports, schedules and working hours.

dbt has the same name in its var `time_zone` (dbt_project.yml); tests/unit/test_time_zone.py keeps
the two in step.
"""

from zoneinfo import ZoneInfo

TIME_ZONE = "Europe/Moscow"
MOSCOW = ZoneInfo(TIME_ZONE)
