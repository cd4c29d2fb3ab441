"""The gateway's request dependencies: its serving class, and the caller's API key, authenticated
and within its rate limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.gateway.keys import ApiKey
from services.gateway.serving import GatewayService


def gateway_service(request: Request) -> GatewayService:
    return request.app.state.gateway


Gateway = Annotated[GatewayService, Depends(gateway_service)]


async def allowed_key(request: Request, gateway: Gateway) -> ApiKey:
    key = await gateway.gatekeeper.authenticate(request)
    await gateway.gatekeeper.rate_limit(key)
    return key


Key = Annotated[ApiKey, Depends(allowed_key)]
