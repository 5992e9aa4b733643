"""The resource tree (see ``plait.web``)."""

from plait.web._resource import (
    NOT_DONE_YET,
    ErrorPage,
    ForbiddenResource,
    NoResource,
    Resource,
    getChildForRequest,
)

__all__ = [
    "NOT_DONE_YET",
    "ErrorPage",
    "ForbiddenResource",
    "NoResource",
    "Resource",
    "getChildForRequest",
]
