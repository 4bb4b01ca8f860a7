"""The head-end: online meters over MQTT (docs/mqtt.md is the wire contract).

``serve`` ingests readings, events, presence and signed results through a shared
subscription into the vending database, raises alarms and notifies people, publishes the
signed commands operators queue (and the tokens of sales to online meters). Command keys
come from the vending station's key custody and are never stored here.
"""
