"""`/grym/session/*`: the DAW's session context (tempo, time signature, key, sample rate, project, track)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from grym_bridge.orchestrator.session import SessionContext
from grym_bridge.results import dumps
from grym_bridge.api.routes import Arg, Property, Request, Route

if TYPE_CHECKING:
    from grym_bridge.orchestrator.services import Services

CONTEXT_ADDRESS = "/grym/session/context"


def set_value(req: Request, key: str, value: str, session: str) -> tuple[Any, ...]:
    sessions = req.services.orchestrator.sessions
    stored = sessions.set(key, value, session_id=session)
    ctx = sessions.get(session)
    req.router.publish(CONTEXT_ADDRESS, [session, dumps(ctx.to_dict())], exclude=req.peer.key)
    return (SessionContext.canonical(key), "" if stored is None else stored)


def get(req: Request, session: str) -> None:
    req.reply_json(req.services.orchestrator.sessions.get(session).to_dict())


def current(services: "Services") -> tuple[str, str]:
    return ("default", json.dumps(services.orchestrator.sessions.get("default").to_dict()))


ROUTES = [
    Route("/grym/session/set", set_value,
          args=[Arg("key", str, help="tempo, time_signature, key, sample_rate, project or selected_track"),
                Arg("value", str, help="the value; an empty string clears it")],
          options=[Arg("session", str, "default", help="session id (one per DAW project)")],
          reply="<req_id> <key> <stored value>",
          doc="Set one value of the session context (numbers may come as int, float or text); kept in the store."),
    Route("/grym/session/get", get, options=[Arg("session", str, "default", help="session id")],
          reply="<req_id> <json>", doc="The session context: tempo, time_signature, key, sample_rate, project, "
                                       "selected_track (null when unset; an unset time_signature counts bars in 4/4 and lets "
                                       "analysis detect the meter)."),
]

PROPERTIES = [
    Property("session", "context", current,
             doc="the session context: <session> <json> whenever another client changes it"),
]
