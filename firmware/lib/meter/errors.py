"""The meter's configuration error, in a module of its own: ``meter.config`` is imported
only while a configuration is checked and dropped after (``core.validate_config``), so
the class it raises must live where it stays one and the same class."""


class ConfigError(ValueError):
    """A configuration value a technician must fix; the message names the field."""
