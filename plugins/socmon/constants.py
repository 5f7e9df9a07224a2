"""The constants every layer shares, defined once: the time zone, the platforms, the API pools.

dbt has the time zone's name in its var `time_zone` (dbt_project.yml); tests/unit/test_time_zone.py
keeps the two in step. The working-time rules (hours, the lunch break, shortened days) are the working
calendar's: `socmon.calendar.working_hours_between` over the seed dbt computes deadlines from.
"""

from zoneinfo import ZoneInfo

TIME_ZONE = "Europe/Moscow"
MOSCOW = ZoneInfo(TIME_ZONE)
"""Moscow time (UTC+3 all year since 2014): reports, schedules, working hours, VK's daily quotas."""

PLATFORMS = ("vk", "ok", "telegram")

POOLS = {  # one Airflow pool per token group: parallel tasks share its rate limit
    "vk_api": (2, "VK API: the tasks sharing the VK tokens' rate limit"),
    "ok_api": (2, "OK API: the tasks sharing the OK application's rate limit"),
    "telegram_api": (1, "Telegram: one account, one session (concurrent use risks AUTH_KEY_DUPLICATED)"),
}
"""Each pool's slots when `socmon` creates it, and its description. At run time the pool's slots in
Airflow count (`socmon.hooks.pool_slots`): an operator may resize a pool in the UI."""
