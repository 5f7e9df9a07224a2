"""socmon: incidents and official-account compliance for the Krasnodar Krai executive bodies."""

__version__ = "0.1.0"
