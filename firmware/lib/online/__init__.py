"""Online meters, hardware-free: what the MQTT task (``app_mqtt``) sends and accepts
(docs/mqtt.md): settings, messages, signed commands and the offline backlog."""
