"""The technician's operations in ``host.vending.api``'s table (imported by it), so both
doors have them: ``provision_keys`` and ``meter_commission`` (``host.vending.commissioning``)."""
from pydantic import Field

from host.vending import commissioning
from host.vending.api import Params, operation

ROLE = commissioning.ROLE


class KeysRequest(Params):
    meter: str
    online: bool = Field(False, description="also the command key and broker password of an online meter")


class SelfTestStep(Params):
    step: str = Field(max_length=32)
    result: str = Field(max_length=16)
    detail: str = Field(max_length=500)


class Commissioning(Params):
    meter: str
    serial: str
    firmware_hash: str = Field(pattern="^[0-9a-f]{64}$")
    config_hash: str = Field(pattern="^[0-9a-f]{64}$")
    steps: list[SelfTestStep] = Field(max_length=40)


@operation("provision_keys", "POST", "/provisioning/keys", ROLE, KeysRequest)
def _provision_keys(station, actor, p):
    return commissioning.issue_keys(station, actor, p.meter, p.online)


@operation("meter_commission", "POST", "/meters/commission", ROLE, Commissioning)
def _meter_commission(station, actor, p):
    return {"line": commissioning.record(station, actor, p.model_dump())}
