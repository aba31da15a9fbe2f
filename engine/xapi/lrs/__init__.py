"""The built-in Learning Record Store: xAPI 1.0.3 (and 2.0.0 requests where they agree), mounted at /xapi.

Resources: ``about``, ``statements``, ``activities/state``, ``activities/profile``, ``agents/profile``,
``activities`` and ``agents``; HEAD wherever GET is; the alternate request syntax (``POST ...?method=PUT`` with
form fields) too. Access is HTTP Basic with credentials made by ``masterclass lrs credentials add``.

All SQL is in :mod:`engine.storage.lrs`. The modules here:

- :mod:`.app`: the ASGI application (request, version, credentials, parameters, dispatch);
- :mod:`.protocol`: resources, parameters, errors and answers, the alternate syntax;
- :mod:`.auth`: credentials and HTTP Basic authentication;
- :mod:`.writes`: storing statements (checking, completing, group commit);
- :mod:`.queries`: reading statements, activities and agents;
- :mod:`.formats`: the exact, ids and canonical formats and canonical activity definitions;
- :mod:`.attachments`: multipart/mixed bodies and signed statements;
- :mod:`.documents`: the state and profile documents.

What the LRS refuses beyond xAPI's own rules, each with a 400 (``{"error", "field", "rule"}``), before anything is
stored: JSON with anything inside more than 100 arrays and objects (rule ``depth``, see
:data:`engine.xapi.statement_json.MAX_DEPTH`), an integer literal longer than 4,300 digits or a number beyond a
double's range such as ``1e400`` (``number``), half a surrogate pair such as ``"\\ud800"`` (``unicode``), a
timestamp whose UTC time falls outside the years 1 to 9999 (``timestamp``), ``limit`` in anything but ASCII digits
(``limit``), a parameter that is not UTF-8 once %-decoded (``encoding``) and a ``more`` token it did not make
(``more``). The JSON rules hold for statements, Agent parameters and the JSON documents a POST merges; a signature
whose payload breaks them is malformed (``signature``).

Statement queries run in a worker thread on a read-only connection of the LRS's own (a few are kept open), in
one read transaction per request: in WAL mode they neither wait for writes nor hold them up. Statement writes
go through the group committer (see :mod:`.writes`). Documents are read and written in one
``store.transaction()`` per request.
"""

from .app import LRS, make_app
from .attachments import build_multipart, parse_multipart
from .auth import SCOPES, create_credential
from .formats import canonical_definition, pick_language
from .protocol import MAX_BODY, MAX_LIMIT, VERSIONS, LRSError, Req
from .queries import decode_more, encode_more

__all__ = ["LRS", "MAX_BODY", "MAX_LIMIT", "SCOPES", "VERSIONS", "LRSError", "Req", "build_multipart",
           "canonical_definition", "create_credential", "decode_more", "encode_more", "make_app", "parse_multipart",
           "pick_language"]
