"""The time zone of the Krasnodar Krai executive bodies (defined in `socmon.constants`)."""

from socmon.constants import MOSCOW, TIME_ZONE

__all__ = ["MOSCOW", "TIME_ZONE"]
