"""Ray's notice that it enabled token authentication for the local cluster it starts: expected (a sweep
keeps that default: only holders of ``~/.ray/auth_token`` can use the cluster), so it is logged at INFO
instead of as a warning on every sweep. ``RAY_AUTH_MODE=disabled`` opts out, as Ray says; a warning that
authentication is *disabled* is left as it is.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

RAY_TOKEN_LOGGER = "ray._private.authentication.authentication_token_setup"
RAY_TOKEN_NOTICE = "Token authentication is enabled for this Ray cluster"


class _RayTokenNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith(RAY_TOKEN_NOTICE):
            logger.info("Ray started the local cluster with token authentication (token in ~/.ray/auth_token;"
                        " RAY_AUTH_MODE=disabled opts out)")
            return False
        return True


def quiet_ray_token_notice() -> None:
    """Before ``ray.init`` of a local cluster: Ray's token-authentication notice becomes an INFO line."""
    ray_logger = logging.getLogger(RAY_TOKEN_LOGGER)
    if not any(isinstance(f, _RayTokenNotice) for f in ray_logger.filters):
        ray_logger.addFilter(_RayTokenNotice())
