"""``Databuddy``: the client of the Databuddy API, a :class:`~.transport.Transport` with its two
API surfaces, ``client.query`` (the Query API, ``/v1/query``) and ``client.rpc`` (the RPC API).
"""

from __future__ import annotations

from functools import cached_property

from .query_api import QueryAPI
from .rpc_api import RPCAPI
from .transport import Transport


class Databuddy(Transport):
    """A client of the Databuddy API (``api.databuddy.cc`` or a compatible server).

    ``client.query`` is the Query API (``/v1/query``), ``client.rpc`` the RPC API; both send
    through this transport (see :class:`~.transport.Transport` for the options: credentials,
    timeouts, retry policy, rate limits, and the injectable ``sleep``/``clock``/``monotonic``).
    Use the client as a context manager or call :meth:`close`.
    """

    @cached_property
    def query(self) -> QueryAPI:
        return QueryAPI(self)

    @cached_property
    def rpc(self) -> RPCAPI:
        return RPCAPI(self)
